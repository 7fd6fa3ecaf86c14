/**
 * MongoDB through mongoose. One `Connection` per service (created with
 * `mongoose.createConnection`, not the global default), models are bound to
 * it: `conn.model('Session', schema)`.
 *
 * Stay inside what FerretDB also serves (the embedded default store): no
 * multi-document transactions, no change streams, no `$lookup` pipelines
 * beyond basics. Unique indexes, TTL-free CRUD, `findOneAndUpdate`,
 * compare-and-set via filters all work.
 */
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from 'pino';
import { AppError } from './errors.js';

export type { Connection } from 'mongoose';

/** Options of {@link connectMongo}. */
export interface ConnectMongoOptions {
  /** `mongodb://host:port/db` — the database name comes from the URL path. */
  url: string;
  logger?: Logger;
  /** Attempts after the first failure (default 5). */
  retries?: number;
  /** First retry delay in ms, doubled per attempt, capped at 10 s (default 500). */
  retryDelayMs?: number;
  /** Per-attempt server selection timeout in ms (default 5000). */
  serverSelectionTimeoutMs?: number;
  /** mongoose `autoIndex` (default true: indexes declared in schemas are built at start). */
  autoIndex?: boolean;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Opens a mongoose connection, retrying with exponential backoff.
 * Logs `disconnected` / `reconnected` / `error` events afterwards.
 *
 * @throws AppError `MONGO_UNREACHABLE` after the last attempt (message has
 *   the URL without credentials and the driver's reason)
 */
export async function connectMongo(opts: ConnectMongoOptions): Promise<Connection> {
  const retries = opts.retries ?? 5;
  let delay = opts.retryDelayMs ?? 500;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const conn = mongoose.createConnection(opts.url, {
      serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 5000,
      autoIndex: opts.autoIndex ?? true,
    });
    try {
      await conn.asPromise();
      const logger = opts.logger;
      if (logger) {
        logger.info({ db: conn.name }, 'connected to MongoDB');
        conn.on('disconnected', () => logger.warn('MongoDB disconnected'));
        conn.on('reconnected', () => logger.info('MongoDB reconnected'));
        conn.on('error', (err: Error) => logger.error({ err }, 'MongoDB error'));
      }
      return conn;
    } catch (err) {
      lastError = err;
      await conn.close(true).catch(() => {});
      if (attempt < retries) {
        opts.logger?.warn(
          { url: redact(opts.url), attempt: attempt + 1, err: (err as Error).message },
          'MongoDB not reachable yet, retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }
  throw new AppError(
    'MONGO_UNREACHABLE',
    `cannot connect to MongoDB at ${redact(opts.url)} after ${retries + 1} attempts: ${(lastError as Error)?.message}`,
    { cause: lastError },
  );
}

/** Closes the connection (waits for in-flight operations). Never throws. */
export async function closeMongo(conn: Connection): Promise<void> {
  await conn.close().catch(() => {});
}

/** True when `err` is a duplicate-key error (E11000, code 11000). */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
