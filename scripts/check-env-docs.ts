/**
 * CI check: every environment variable that the code reads through a config
 * schema (`services/* /src/config.ts`, `packages/platform/src/config.ts`) is
 * documented in `.env.example` and in the README's configuration table.
 *
 * Variables are found as upper-case keys of zod object schemas (`FOO_BAR:`).
 * Exits 1 listing every undocumented variable.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const sources = [join(root, 'packages/platform/src/config.ts')];
for (const service of readdirSync(join(root, 'services'))) {
  sources.push(join(root, 'services', service, 'src/config.ts'));
}

const variables = new Set<string>();
for (const file of sources.filter((f) => existsSync(f))) {
  for (const match of readFileSync(file, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):/gm)) {
    variables.add(match[1]!);
  }
}

const envExample = existsSync(join(root, '.env.example'))
  ? readFileSync(join(root, '.env.example'), 'utf8')
  : '';
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const problems: string[] = [];
for (const name of [...variables].sort()) {
  if (!new RegExp(`^#?\\s*${name}=`, 'm').test(envExample)) {
    problems.push(`${name}: missing from .env.example`);
  }
  if (!readme.includes(`\`${name}\``))
    problems.push(`${name}: missing from README configuration table`);
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${variables.size} environment variables documented`);
