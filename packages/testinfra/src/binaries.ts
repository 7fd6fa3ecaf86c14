import { accessSync, constants, existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { withLock } from './lock.js';
import { info, warn } from './log.js';
import { run } from './process.js';

/** nats-server release built by `go install` when no suitable binary exists. */
export const NATS_SERVER_VERSION = 'v2.10.29';
/** FerretDB release built when no `mongod` exists (v1: SQLite backend, no PostgreSQL needed). */
export const FERRETDB_VERSION = 'v1.24.2';

/**
 * The exact commands that build FerretDB into the cache dir (also shown in
 * error messages). Plain `go install ...ferretdb@v1.24.2` does not work: the
 * module list lookup can be refused, and a binary built from the module cache
 * panics at start because the release's `build/version/version.txt` is
 * generated, not committed. So: fetch the module with `go get` in a scratch
 * module, copy its source, write version.txt, build from the copy.
 */
export function ferretBuildCommands(dir = binDir()): string {
  return (
    `d=$(mktemp -d) && cd "$d" && go mod init tgbridge-ferretdb-build && ` +
    `go get github.com/FerretDB/FerretDB/cmd/ferretdb@${FERRETDB_VERSION} && ` +
    `cp -r "$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)" src && chmod -R u+w src && ` +
    `echo ${FERRETDB_VERSION} > src/build/version/version.txt && ` +
    `(cd src && go build -o ${dir}/ferretdb ./cmd/ferretdb)`
  );
}

/** The exact command that installs nats-server into the cache dir. */
export function natsInstallCommand(dir = binDir()): string {
  return `GOBIN=${dir} go install github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`;
}

/**
 * Directory holding binaries that testinfra builds once and reuses:
 * `$TGBRIDGE_CACHE_DIR` when set, else `~/.cache/tgbridge/bin`.
 */
export function binDir(): string {
  return process.env.TGBRIDGE_CACHE_DIR || join(homedir(), '.cache', 'tgbridge', 'bin');
}

/** Absolute path of an executable named `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** A semantic version triple. */
export type Version = [number, number, number];

/** Parses the first `x.y.z` in a `--version` output. */
export function parseVersion(text: string): Version | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(v: Version, min: Version): boolean {
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  }
  return true;
}

async function versionOf(bin: string): Promise<Version | undefined> {
  try {
    return parseVersion(await run(bin, ['--version'], { timeoutMs: 15_000 }));
  } catch {
    return undefined;
  }
}

/** A nats-server binary that was found or provisioned. */
export interface NatsBinary {
  path: string;
  version: Version;
  /** Where it came from (for the progress line). */
  source: 'path' | 'cache' | 'go install' | 'apt';
}

/**
 * Finds or provisions a nats-server binary: PATH (≥ 2.10), the cache dir,
 * `go install` into the cache dir, Debian's package via apt-get when root,
 * finally an older PATH binary with a warning.
 *
 * @returns the binary, or undefined when none could be found or provisioned
 *   (the caller then tries Docker or fails with {@link natsInstallCommand}).
 */
export async function findNatsServer(): Promise<NatsBinary | undefined> {
  const onPath = which('nats-server');
  const pathVersion = onPath ? await versionOf(onPath) : undefined;
  if (onPath && pathVersion && atLeast(pathVersion, [2, 10, 0])) {
    return { path: onPath, version: pathVersion, source: 'path' };
  }
  const dir = binDir();
  const cached = join(dir, 'nats-server');
  const cachedVersion = existsSync(cached) ? await versionOf(cached) : undefined;
  if (cachedVersion) return { path: cached, version: cachedVersion, source: 'cache' };

  if (which('go')) {
    await mkdir(dir, { recursive: true });
    try {
      const built = await withLock(
        join(dir, '.nats-server.lock'),
        'the nats-server build',
        async () => {
          const again = existsSync(cached) ? await versionOf(cached) : undefined;
          if (again) return again;
          info(`installing nats-server ${NATS_SERVER_VERSION}: ${natsInstallCommand(dir)}`);
          await run('go', ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
            env: { GOBIN: dir },
            timeoutMs: 15 * 60_000,
          });
          return versionOf(cached);
        },
      );
      if (built) return { path: cached, version: built, source: 'go install' };
    } catch (err) {
      warn(`go install of nats-server failed: ${(err as Error).message}`);
    }
  }

  if (!onPath && process.getuid?.() === 0 && which('apt-get')) {
    try {
      info('installing nats-server from the Debian package: apt-get install -y nats-server');
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      try {
        await run('apt-get', ['install', '-y', 'nats-server'], { env, timeoutMs: 10 * 60_000 });
      } catch {
        await run('apt-get', ['update'], { env, timeoutMs: 10 * 60_000 });
        await run('apt-get', ['install', '-y', 'nats-server'], { env, timeoutMs: 10 * 60_000 });
      }
      const installed =
        which('nats-server') ??
        (existsSync('/usr/bin/nats-server') ? '/usr/bin/nats-server' : undefined);
      const v = installed ? await versionOf(installed) : undefined;
      if (installed && v) {
        if (!atLeast(v, [2, 10, 0])) {
          warn(
            `Debian's nats-server is ${v.join('.')}: JetStream works, some 2.10 features do not. For 2.10: ${natsInstallCommand(dir)}`,
          );
        }
        return { path: installed, version: v, source: 'apt' };
      }
    } catch (err) {
      warn(`apt-get install nats-server failed: ${(err as Error).message}`);
    }
  }

  if (onPath && pathVersion) {
    warn(
      `using ${onPath} ${pathVersion.join('.')} (< 2.10): JetStream works, some 2.10 features do not. For 2.10: ${natsInstallCommand(dir)}`,
    );
    return { path: onPath, version: pathVersion, source: 'path' };
  }
  return undefined;
}

/** A MongoDB-wire server binary. */
export interface MongoBinary {
  kind: 'mongod' | 'ferretdb';
  path: string;
  source: 'path' | 'cache' | 'go build';
}

/**
 * Finds or provisions a MongoDB-wire server: `mongod` on PATH, else FerretDB
 * from the cache dir, else FerretDB built there once with Go (a few minutes;
 * a lock file keeps concurrent processes from building twice).
 *
 * @returns the binary, or undefined when none is available and Go is missing
 */
export async function findMongoServer(): Promise<MongoBinary | undefined> {
  const mongod = which('mongod');
  if (mongod) return { kind: 'mongod', path: mongod, source: 'path' };
  const dir = binDir();
  const ferret = join(dir, 'ferretdb');
  if (existsSync(ferret) && (await versionOf(ferret)))
    return { kind: 'ferretdb', path: ferret, source: 'cache' };
  if (!which('go')) return undefined;
  await mkdir(dir, { recursive: true });
  await withLock(join(dir, '.ferretdb.lock'), 'the FerretDB build', async () => {
    if (existsSync(ferret) && (await versionOf(ferret))) return;
    await buildFerretDb(dir);
  });
  return { kind: 'ferretdb', path: ferret, source: 'go build' };
}

/**
 * Builds FerretDB into `<dir>/ferretdb` (written to a temp name, then renamed,
 * so a half-written binary is never picked up).
 *
 * @throws Error with the go output tail and the commands to run by hand
 */
async function buildFerretDb(dir: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tgbridge-ferretdb-build-'));
  const started = Date.now();
  info(`building FerretDB ${FERRETDB_VERSION} into ${dir} (once; takes a few minutes)...`);
  const beat = setInterval(() => {
    info(`still building FerretDB (${Math.round((Date.now() - started) / 1000)} s)...`);
  }, 30_000);
  const target = join(dir, `.ferretdb.tmp-${process.pid}`);
  try {
    const opts = { cwd: work, timeoutMs: 30 * 60_000 };
    await run('go', ['mod', 'init', 'tgbridge-ferretdb-build'], opts);
    await run('go', ['get', `github.com/FerretDB/FerretDB/cmd/ferretdb@${FERRETDB_VERSION}`], opts);
    const moduleDir = (
      await run('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/FerretDB/FerretDB'], opts)
    ).trim();
    const src = join(work, 'src');
    await cp(moduleDir, src, { recursive: true });
    await makeWritable(src);
    await writeFile(join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    await run('go', ['build', '-o', target, './cmd/ferretdb'], { ...opts, cwd: src });
    await rename(target, join(dir, 'ferretdb'));
    info(`FerretDB built in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (err) {
    throw new Error(
      `building FerretDB failed: ${(err as Error).message}\n` +
        `Build it by hand with:\n  ${ferretBuildCommands(dir)}\nor set MONGO_URL to a running MongoDB.`,
    );
  } finally {
    clearInterval(beat);
    await rm(target, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** The Go module cache is read-only; make a copied tree writable (and removable). */
async function makeWritable(root: string): Promise<void> {
  await chmod(root, 0o755);
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}
