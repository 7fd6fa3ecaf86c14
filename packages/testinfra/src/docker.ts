import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ServerHandle } from './types.js';

function candidateSockets(): string[] {
  const list = ['/var/run/docker.sock', join(homedir(), '.docker', 'run', 'docker.sock')];
  if (process.env.XDG_RUNTIME_DIR) list.push(join(process.env.XDG_RUNTIME_DIR, 'docker.sock'));
  return list;
}

function ping(opts: { socketPath?: string; host?: string; port?: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...opts, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * True when a Docker engine answers `GET /_ping`: `DOCKER_HOST`
 * (unix:// or tcp://, no TLS) or one of the usual socket paths.
 * Never throws; takes at most ~2 s per candidate.
 */
export async function dockerReachable(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return ping({ socketPath: host.slice('unix://'.length) });
  if (host?.startsWith('tcp://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return ping({ host: u.hostname, port: Number(u.port || 2375) });
  }
  for (const socketPath of candidateSockets()) {
    if (existsSync(socketPath) && (await ping({ socketPath }))) return true;
  }
  return false;
}

/**
 * Starts `nats:2.10 -js` with testcontainers (imported lazily: only loaded
 * when a Docker engine is reachable). Orphans are reaped by testcontainers'
 * Ryuk container.
 */
export async function startNatsContainer(): Promise<ServerHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('nats:2.10')
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    source: 'docker nats:2.10',
    stop: async () => {
      await container.stop();
    },
  };
}

/** Starts `mongo:7` with testcontainers (lazily imported). */
export async function startMongoContainer(): Promise<ServerHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('mongo:7')
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();
  return {
    url: `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/?directConnection=true`,
    source: 'docker mongo:7',
    stop: async () => {
      await container.stop();
    },
  };
}
