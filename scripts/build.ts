/**
 * Production build: bundles each service's `src/main.ts` with esbuild into
 * `services/<service>/dist/main.js` (ESM, platform node, Node 20) plus
 * `services/<service>/dist/telemetry-register.js`. Used by the Dockerfile;
 * not needed in development (everything runs from source with tsx there).
 *
 * What is bundled: the service's own code and the workspace packages
 * (`@tgbridge/*`, which export TypeScript sources). What stays external:
 * every other bare import, loaded from `node_modules` at run time (so
 * OpenTelemetry's require hooks still patch fastify, grpc-js, mongodb and
 * pino; `npm install --omit=dev` provides them in the image). The bundle
 * lives inside the service folder so that Node finds the same copy of each
 * package as the sources do (npm nests a conflicting version under
 * `services/<service>/node_modules`); the build fails when a bundled module
 * would resolve a package to a different folder than its source does.
 *
 * Code splitting shares modules between the two entry points, so
 * `node --import ./services/gateway/dist/telemetry-register.js services/gateway/dist/main.js`
 * starts telemetry before any npm package loads and uses one instance of
 * `@tgbridge/platform/lifecycle` with the service (its shutdown hook flushes
 * the spans).
 *
 * Usage: `npx tsx scripts/build.ts [service...]` (default: every service).
 * Exits 1 when a service has no `src/main.ts`, when esbuild reports an error,
 * when bundled code refers to its own location (`import.meta.url`,
 * `__dirname`), or when package resolution would change after bundling.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Workspace services (directories under `services/`). */
export function listServices(): string[] {
  return readdirSync(join(root, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Keeps npm packages external; bundles relative imports and `@tgbridge/*`. */
const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@tgbridge/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** Package name of a bare specifier (`@a/b/c` → `@a/b`, `x/y` → `x`). */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Folder Node's lookup finds for package `name` starting at `from`, or undefined. */
export function findPackageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/** Problems in the bundle's inputs: location-dependent code, resolution changed by bundling. */
function checkInputs(metafile: Metafile, outDir: string): string[] {
  const problems: string[] = [];
  for (const [input, info] of Object.entries(metafile.inputs)) {
    const file = join(root, input);
    const text = readFileSync(file, 'utf8');
    if (/import\.meta\.(url|dirname|filename)|__dirname|__filename/.test(text)) {
      problems.push(`${input}: refers to its own file location, which changes when bundled`);
    }
    for (const imp of info.imports) {
      const spec = imp.original ?? imp.path;
      if (!imp.external || isBuiltin(spec) || spec.startsWith('.')) continue;
      const name = packageName(spec);
      const fromSource = findPackageDir(name, dirname(file));
      const fromBundle = findPackageDir(name, join(outDir, 'chunks'));
      if (fromSource !== fromBundle) {
        problems.push(
          `${input}: "${name}" resolves to ${fromSource ?? 'nothing'} from the source but to ${fromBundle ?? 'nothing'} from the bundle`,
        );
      }
    }
  }
  return problems;
}

/**
 * Bundles one service into `services/<service>/dist` (or `outDir`).
 * @returns the repository-relative output files
 * @throws Error on a missing entry point, an esbuild error or a failed input check
 */
export async function buildService(service: string, outDir?: string): Promise<string[]> {
  const entry = join(root, 'services', service, 'src/main.ts');
  if (!existsSync(entry)) throw new Error(`services/${service}/src/main.ts does not exist`);
  const out = outDir ?? join(root, 'services', service, 'dist');
  rmSync(out, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: {
      main: entry,
      'telemetry-register': join(root, 'packages/platform/src/telemetry-register.ts'),
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
    plugins: [externalNpmPackages],
  });
  const problems = checkInputs(result.metafile, out);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return Object.keys(result.metafile.outputs);
}

/** Builds `services` one after another. @throws like {@link buildService} */
export async function buildServices(services: string[] = listServices()): Promise<string[]> {
  const files: string[] = [];
  for (const service of services) files.push(...(await buildService(service)));
  return files;
}

if (import.meta.filename === process.argv[1]) {
  const requested = process.argv.slice(2);
  buildServices(requested.length > 0 ? requested : undefined).then(
    (files) => console.log(`built ${files.filter((f) => f.endsWith('.js')).length} files`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
