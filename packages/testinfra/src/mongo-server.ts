import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { binDir, ferretBuildCommands, findMongoServer } from './binaries.js';
import { dockerReachable, startMongoContainer } from './docker.js';
import { info, redactUrl } from './log.js';
import { freePort } from './ports.js';
import { spawnManaged, type ManagedProcess } from './process.js';
import type { ServerHandle, StartOptions } from './types.js';

/**
 * Resolves once a MongoDB-wire server at `url` answers `{ping: 1}`.
 *
 * @param alive optional probe; when it returns false waiting stops early
 * @throws Error naming the URL (credentials removed) and the last failure
 */
export async function waitForMongo(
  url: string,
  timeoutMs = 30_000,
  alive?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (alive && !alive()) break;
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await client.close().catch(() => {});
    }
  }
  throw new Error(
    `MongoDB at ${redactUrl(url)} is not ready: ${(last as Error)?.message ?? 'process exited'}`,
  );
}

function noMongoMessage(): string {
  return (
    'No MongoDB-wire server available and none could be provisioned. Do one of:\n' +
    '  - set MONGO_URL=mongodb://HOST:27017/ to a running MongoDB\n' +
    '  - put `mongod` on PATH\n' +
    `  - install Go (https://go.dev/dl/) and build FerretDB once:\n      ${ferretBuildCommands(binDir())}\n` +
    '  - start a Docker engine (testcontainers then runs mongo:7)'
  );
}

/**
 * Yields a MongoDB-wire server: `MONGO_URL` when set (checked reachable),
 * else `mongod` from PATH, else FerretDB (SQLite backend) from the cache dir
 * — built there once with Go when missing — on 127.0.0.1 and a free port,
 * else a `mongo:7` container when a Docker engine is reachable.
 *
 * The URL has no database name; use {@link uniqueDbUrl} per test file.
 *
 * @throws Error naming the exact command to run when nothing works, or when
 *   `MONGO_URL` is set but unreachable
 */
export async function startMongo(opts: StartOptions = {}): Promise<ServerHandle> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const envUrl = process.env.MONGO_URL;
  if ((opts.reuseEnv ?? true) && envUrl) {
    try {
      await waitForMongo(envUrl, Math.min(readyTimeoutMs, 10_000));
    } catch (err) {
      throw new Error(
        `MONGO_URL is set but unusable: ${(err as Error).message}. Fix MONGO_URL or unset it to let the tests start their own server.`,
      );
    }
    return { url: envUrl, source: 'MONGO_URL', stop: async () => {} };
  }

  let binary;
  try {
    binary = await findMongoServer();
  } catch (err) {
    if (!(await dockerReachable())) throw err;
  }
  if (!binary) {
    if (await dockerReachable()) {
      const handle = await startMongoContainer();
      await waitForMongo(handle.url, readyTimeoutMs);
      return handle;
    }
    throw new Error(noMongoMessage());
  }

  const baseDir = opts.dataDir
    ? join(opts.dataDir, 'mongo')
    : await mkdtemp(join(tmpdir(), 'tgbridge-mongo-'));
  const dataDir = join(baseDir, 'data');
  const stateDir = join(baseDir, 'state');
  await mkdir(dataDir, { recursive: true });
  await mkdir(stateDir, { recursive: true });
  const removeDir = async (): Promise<void> => {
    if (!opts.dataDir) await rm(baseDir, { recursive: true, force: true });
  };

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port ?? (await freePort());
    const args =
      binary.kind === 'mongod'
        ? [
            '--dbpath',
            dataDir,
            '--port',
            String(port),
            '--bind_ip',
            '127.0.0.1',
            '--quiet',
            '--nounixsocket',
          ]
        : [
            '--handler=sqlite',
            `--sqlite-url=file:${dataDir}/`,
            `--listen-addr=127.0.0.1:${port}`,
            `--state-dir=${stateDir}`,
            '--telemetry=disable',
            '--log-level=warn',
            '--debug-addr=-',
          ];
    let proc: ManagedProcess | undefined;
    try {
      proc = await spawnManaged(binary.path, args, {
        removeOnOrphan: opts.dataDir ? undefined : baseDir,
      });
      const running = proc;
      const url = `mongodb://127.0.0.1:${port}/`;
      await waitForMongo(url, readyTimeoutMs, () => !running.hasExited());
      const source = `${binary.kind} (${binary.source}: ${binary.path})`;
      info(`MongoDB-wire server ready at ${url} — ${source}`);
      return {
        url,
        source,
        pid: proc.pid,
        dataDir: baseDir,
        stop: async () => {
          await running.stop();
          await removeDir();
        },
      };
    } catch (err) {
      const output = proc?.output() ?? '';
      await proc?.stop();
      lastError = new Error(
        `${(err as Error).message}${output ? `\n${binary.kind} output:\n${output}` : ''}`,
      );
      if (opts.port !== undefined || !/address already in use/i.test(output)) break;
    }
  }
  await removeDir();
  throw lastError ?? new Error(`${binary.kind} did not start`);
}
