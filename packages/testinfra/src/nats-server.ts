import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { binDir, findNatsServer, natsInstallCommand } from './binaries.js';
import { dockerReachable, startNatsContainer } from './docker.js';
import { info, redactUrl } from './log.js';
import { freePort } from './ports.js';
import { spawnManaged, type ManagedProcess } from './process.js';
import type { ServerHandle, StartOptions } from './types.js';

/**
 * Resolves once `url` accepts a connection and JetStream answers an
 * account-info request.
 *
 * @param alive optional probe; when it returns false waiting stops early
 * @throws Error naming the URL (credentials removed) and the last failure
 */
export async function waitForNats(
  url: string,
  timeoutMs = 30_000,
  alive?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (alive && !alive()) break;
    try {
      const nc = await connect({
        servers: url,
        timeout: 2000,
        reconnect: false,
        name: 'tgbridge-testinfra-probe',
      });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 5000 });
        await jsm.getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(
    `NATS at ${redactUrl(url)} is not ready (JetStream enabled?): ${(last as Error)?.message ?? 'process exited'}`,
  );
}

function noNatsMessage(): string {
  return (
    'No nats-server (>= 2.10, JetStream) available and none could be provisioned. Do one of:\n' +
    '  - set NATS_URL=nats://HOST:4222 to a running nats-server started with -js\n' +
    `  - install Go (https://go.dev/dl/) and run: ${natsInstallCommand(binDir())}\n` +
    '  - as root on Debian/Ubuntu: apt-get install -y nats-server\n' +
    '  - start a Docker engine (testcontainers then runs nats:2.10 -js)'
  );
}

/**
 * Yields a NATS server with JetStream: `NATS_URL` when set (checked
 * reachable), else a `nats-server -js` child on 127.0.0.1 and a free port
 * with its store in a temp dir (or `<dataDir>/nats`), else a Docker
 * container when an engine is reachable.
 *
 * @throws Error naming the exact command to run when nothing works, or when
 *   `NATS_URL` is set but unreachable
 */
export async function startNats(opts: StartOptions = {}): Promise<ServerHandle> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const envUrl = process.env.NATS_URL;
  if ((opts.reuseEnv ?? true) && envUrl) {
    try {
      await waitForNats(envUrl, Math.min(readyTimeoutMs, 10_000));
    } catch (err) {
      throw new Error(
        `NATS_URL is set but unusable: ${(err as Error).message}. Fix NATS_URL or unset it to let the tests start their own nats-server.`,
      );
    }
    return { url: envUrl, source: 'NATS_URL', stop: async () => {} };
  }

  const binary = await findNatsServer();
  if (!binary) {
    if (await dockerReachable()) {
      const handle = await startNatsContainer();
      await waitForNats(handle.url, readyTimeoutMs);
      return handle;
    }
    throw new Error(noNatsMessage());
  }

  const storeDir = opts.dataDir
    ? join(opts.dataDir, 'nats')
    : await mkdtemp(join(tmpdir(), 'tgbridge-nats-'));
  await mkdir(storeDir, { recursive: true });
  const removeStore = async (): Promise<void> => {
    if (!opts.dataDir) await rm(storeDir, { recursive: true, force: true });
  };

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port ?? (await freePort());
    let proc: ManagedProcess | undefined;
    try {
      proc = await spawnManaged(
        binary.path,
        [
          '-js',
          '-a',
          '127.0.0.1',
          '-p',
          String(port),
          '-sd',
          storeDir,
          '-n',
          `tgbridge-${process.pid}-${port}`,
        ],
        { removeOnOrphan: opts.dataDir ? undefined : storeDir },
      );
      const url = `nats://127.0.0.1:${port}`;
      const running = proc;
      await waitForNats(url, readyTimeoutMs, () => !running.hasExited());
      const source = `nats-server ${binary.version.join('.')} (${binary.source}: ${binary.path})`;
      info(`NATS ready at ${url} — ${source}`);
      return {
        url,
        source,
        pid: proc.pid,
        dataDir: storeDir,
        stop: async () => {
          await running.stop();
          await removeStore();
        },
      };
    } catch (err) {
      const output = proc?.output() ?? '';
      await proc?.stop();
      lastError = new Error(
        `${(err as Error).message}${output ? `\nnats-server output:\n${output}` : ''}`,
      );
      if (opts.port !== undefined || !/address already in use/i.test(output)) break;
    }
  }
  await removeStore();
  throw lastError ?? new Error('nats-server did not start');
}
