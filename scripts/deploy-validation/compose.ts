/**
 * Offline checks of docker-compose.yml:
 * - the file (anchors and merge keys resolved, as Compose does) against the
 *   Compose Specification JSON schema vendored in deploy/schemas, before and
 *   after interpolation with deploy/compose/emulator.env;
 * - every tgbridge service's `environment` against its config schema
 *   (unknown keys, values that do not parse, required keys not set), and the
 *   emulator / demo receiver env against the names their sources read;
 * - build targets exist in the Dockerfile, and Prometheus scrapes every
 *   service that exposes metrics.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkEnv, loadEnvSchema, requiredKeys } from './config-schemas.js';
import { interpolate, parseEnvFile, type MissingVariable } from './interpolate.js';

/** The parts of a Compose service these checks read. */
interface ComposeService {
  build?: { target?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  profiles?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** Services of the fleet, by Dockerfile target. */
export const FLEET = ['gateway', 'auth', 'connector', 'notifier'] as const;

/** Parses YAML the way Compose does (merge keys on, aliases resolved). */
export function parseComposeYaml(text: string): unknown {
  return parse(text, { merge: true, maxAliasCount: -1 });
}

/** `environment` as a map (list form `KEY=value` too). */
export function environmentOf(service: ComposeService): Record<string, string | undefined> {
  const env = service.environment;
  if (!env) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)]),
  );
}

/** A validator for the vendored Compose Specification schema. */
export function composeSchemaValidator(root: string): ReturnType<Ajv2020['compile']> {
  const schema = JSON.parse(readFileSync(join(root, 'deploy/schemas/compose-spec.json'), 'utf8'));
  return new Ajv2020({ strict: false, allErrors: true }).compile(schema);
}

/** Schema problems of a parsed Compose document, one line each. */
export function schemaProblems(
  validate: ReturnType<Ajv2020['compile']>,
  doc: unknown,
  label: string,
): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(
    (e) => `${label}: ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** Env names a tool script reads: every upper-case identifier in its source. */
function namesInSource(root: string, file: string): Set<string> | undefined {
  const path = join(root, file);
  if (!existsSync(path)) return undefined;
  return new Set(readFileSync(path, 'utf8').match(/\b[A-Z][A-Z0-9_]{2,}\b/g) ?? []);
}

/**
 * Runs every docker-compose check.
 * @returns one line per problem (empty when all is well)
 */
export async function checkCompose(root: string): Promise<string[]> {
  const problems: string[] = [];
  const validate = composeSchemaValidator(root);

  const raw = parseComposeYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
  problems.push(...schemaProblems(validate, raw, 'docker-compose.yml'));

  const envFile = 'deploy/compose/emulator.env';
  const env = parseEnvFile(readFileSync(join(root, envFile), 'utf8'));
  const missing: MissingVariable[] = [];
  const compose = interpolate(raw, env, missing) as ComposeFile;
  for (const m of missing) problems.push(`${envFile}: ${m.name} is required (${m.message})`);
  problems.push(...schemaProblems(validate, compose, `docker-compose.yml with ${envFile}`));

  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const targets = new Set(
    [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!),
  );
  const seen = new Set<string>();
  for (const [name, service] of Object.entries(compose.services)) {
    const target = typeof service.build === 'object' ? service.build.target : undefined;
    if (service.build && !target) problems.push(`service ${name}: build without a target`);
    if (target && !targets.has(target))
      problems.push(`service ${name}: no Dockerfile target ${target}`);
    const values = environmentOf(service);
    const where = `docker-compose.yml service ${name}`;
    if (target && (FLEET as readonly string[]).includes(target)) {
      seen.add(target);
      try {
        const schema = await loadEnvSchema(root, target);
        problems.push(...checkEnv(schema, values, where));
        for (const key of requiredKeys(schema)) {
          if (!values[key]) problems.push(`${where}: required ${key} is not set`);
        }
      } catch (err) {
        problems.push(`${where}: ${(err as Error).message}`);
      }
    } else if (target === 'tools') {
      const command = Array.isArray(service.command) ? service.command : [service.command ?? ''];
      const script = command.find((c) => c.endsWith('.ts')) ?? '';
      const names = namesInSource(root, script);
      if (!names) problems.push(`${where}: runs ${script || '(no script)'}, which does not exist`);
      for (const key of Object.keys(values)) {
        if (names && !names.has(key)) problems.push(`${where}: ${key} is not read by ${script}`);
      }
    }
  }
  for (const service of FLEET) {
    if (!seen.has(service))
      problems.push(`docker-compose.yml: no service builds target ${service}`);
  }

  const prometheus = parse(
    readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8'),
  ) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const scraped = new Set(
    prometheus.scrape_configs
      .flatMap((c) => c.static_configs.flatMap((s) => s.targets))
      .map((t) => t.split(':')[0] ?? t),
  );
  for (const [name, service] of Object.entries(compose.services)) {
    const target = typeof service.build === 'object' ? service.build.target : undefined;
    if (target && (FLEET as readonly string[]).includes(target) && !scraped.has(name)) {
      problems.push(`deploy/prometheus/prometheus.yml: compose service ${name} is not scraped`);
    }
  }
  for (const host of scraped) {
    if (host !== '127.0.0.1' && !(host in compose.services)) {
      problems.push(`deploy/prometheus/prometheus.yml: target ${host} is not a compose service`);
    }
  }
  return problems;
}
