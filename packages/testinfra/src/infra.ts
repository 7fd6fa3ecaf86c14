import { startMongo } from './mongo-server.js';
import { startNats } from './nats-server.js';
import type { ServerHandle, StartOptions } from './types.js';

/** Options of {@link startInfra}. */
export interface InfraOptions {
  /** Use `NATS_URL` / `MONGO_URL` when set (default true). */
  reuseEnv?: boolean;
  /** Persistent data dir for both stores (`<dataDir>/nats`, `<dataDir>/mongo`); default temp dirs. */
  dataDir?: string;
  /** Fixed NATS port (default: free port). */
  natsPort?: number;
  /** Fixed MongoDB port (default: free port). */
  mongoPort?: number;
  /** Readiness deadline per server in ms (default 30 000; a FerretDB build comes on top). */
  readyTimeoutMs?: number;
}

/** Both servers, ready. */
export interface Infra {
  /** `nats://...` with JetStream enabled. */
  natsUrl: string;
  /** `mongodb://host:port/` without a database name. */
  mongoUrl: string;
  nats: ServerHandle;
  mongo: ServerHandle;
  /** Stops both servers (in parallel) and removes temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts (or finds) NATS JetStream and a MongoDB-wire server in parallel.
 * If one fails the other is stopped again before the error is thrown, so
 * nothing is left half-started.
 *
 * @throws Error listing each failure (each names the command to run)
 */
export async function startInfra(opts: InfraOptions = {}): Promise<Infra> {
  const base: StartOptions = {
    reuseEnv: opts.reuseEnv,
    dataDir: opts.dataDir,
    readyTimeoutMs: opts.readyTimeoutMs,
  };
  const [nats, mongo] = await Promise.allSettled([
    startNats({ ...base, port: opts.natsPort }),
    startMongo({ ...base, port: opts.mongoPort }),
  ]);
  if (nats.status === 'rejected' || mongo.status === 'rejected') {
    const problems: string[] = [];
    if (nats.status === 'fulfilled') await nats.value.stop();
    else problems.push(`NATS: ${(nats.reason as Error).message}`);
    if (mongo.status === 'fulfilled') await mongo.value.stop();
    else problems.push(`MongoDB: ${(mongo.reason as Error).message}`);
    throw new Error(`test infrastructure could not start:\n${problems.join('\n')}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    natsUrl: nats.value.url,
    mongoUrl: mongo.value.url,
    nats: nats.value,
    mongo: mongo.value,
    stop: () => {
      stopping ??= Promise.all([nats.value.stop(), mongo.value.stop()]).then(() => undefined);
      return stopping;
    },
  };
}
