/**
 * NATS (v3 client: `@nats-io/transport-node`, `@nats-io/jetstream`,
 * `@nats-io/kv`): connection with endless reconnect and status logging,
 * drain on shutdown, and idempotent provisioning of streams, consumers and
 * KV buckets (create when missing, update when the desired config differs,
 * no-op when identical — safe to run at every start of every replica).
 *
 * Units: JetStream API durations (`max_age`, `duplicate_window`,
 * `ack_wait`, ...) are NANOseconds — use `nanos(ms)` (re-exported here).
 * KV `ttl` is milliseconds.
 */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import type { Logger } from 'pino';
import { AppError } from './errors.js';

export { nanos, millis, headers } from '@nats-io/transport-node';
export type { NatsConnection, MsgHdrs } from '@nats-io/transport-node';

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** `nats://host:port` (comma-separated list allowed). */
  url: string;
  /** Connection name shown in NATS monitoring (e.g. `connector-2`). */
  name: string;
  logger?: Logger;
  /**
   * How long the FIRST connection may take before giving up (default
   * 15 000 ms). After that the client reconnects forever.
   */
  startupTimeoutMs?: number;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//***@');
}

/**
 * Connects with endless reconnects (1 s wait, jittered) and logs status
 * changes (disconnect/reconnect at warn/info, errors at error).
 *
 * @throws AppError `NATS_UNREACHABLE` when no connection is made within
 *   `startupTimeoutMs` (message names the URL without credentials)
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const servers = opts.url.split(',').map((s) => s.trim());
  const deadline = Date.now() + (opts.startupTimeoutMs ?? 15_000);
  let lastError: unknown;
  let nc: NatsConnection | undefined;
  while (!nc) {
    try {
      nc = await connect({
        servers,
        name: opts.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        timeout: Math.max(500, Math.min(5000, deadline - Date.now())),
        // Otherwise every request (a JetStream ackAck included) builds an
        // Error up front for the stack of a timeout that rarely comes.
        noAsyncTraces: true,
      });
    } catch (err) {
      lastError = err;
      if (Date.now() + 500 >= deadline) {
        throw new AppError(
          'NATS_UNREACHABLE',
          `cannot connect to NATS at ${redact(opts.url)}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      opts.logger?.warn(
        { url: redact(opts.url), err: (lastError as Error).message },
        'NATS not reachable yet, retrying',
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const logger = opts.logger;
  if (logger) {
    logger.info({ server: nc.getServer() }, 'connected to NATS');
    void (async () => {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
            logger.warn({ server: s.server }, 'NATS disconnected');
            break;
          case 'reconnect':
            logger.info({ server: s.server }, 'NATS reconnected');
            break;
          case 'reconnecting':
            logger.debug('NATS reconnecting');
            break;
          case 'error':
            logger.error({ err: s.error }, 'NATS error');
            break;
          case 'ldm':
            logger.warn({ server: s.server }, 'NATS server entering lame duck mode');
            break;
          case 'staleConnection':
            logger.warn('NATS connection stale');
            break;
          case 'slowConsumer':
            logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer');
            break;
          default:
            break;
        }
      }
    })().catch(() => {});
  }
  return nc;
}

/**
 * Drains the connection (subscriptions finish their pending messages, then
 * the connection closes). No-op when already closed; never throws.
 *
 * @param timeoutMs close hard after this long (default 5000)
 */
export async function drainNats(nc: NatsConnection, timeoutMs = 5000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      nc.isDraining() ? nc.closed() : nc.drain(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    /* closing anyway */
  } finally {
    clearTimeout(timer);
  }
  if (!nc.isClosed()) await nc.close().catch(() => {});
}

/** True when `err` is a JetStream API error with the given error code. */
export function isJsApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

function isStreamNotFound(err: unknown): boolean {
  return (
    isJsApiError(err, JetStreamApiCodes.StreamNotFound) ||
    (err as Error)?.message === 'stream not found'
  );
}

function isConsumerNotFound(err: unknown): boolean {
  return (
    isJsApiError(err, JetStreamApiCodes.ConsumerNotFound) ||
    (err as Error)?.message === 'consumer not found'
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a as object);
    return ka.every((k) =>
      sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    );
  }
  // nanos fields come back as numbers; callers may pass bigint-free numbers
  return false;
}

/** The keys of `desired` whose value differs from `actual` (only keys present in desired). */
export function configDiff(desired: object, actual: object): string[] {
  return Object.entries(desired)
    .filter(([k, v]) => v !== undefined && !sameValue(v, (actual as Record<string, unknown>)[k]))
    .map(([k]) => k);
}

/**
 * Creates the stream, or updates it to `config` when a given field differs
 * (only the fields you pass are compared), or does nothing when identical.
 *
 * @returns the stream info after the call
 * @throws AppError `NATS_PROVISIONING_FAILED` when the server rejects the
 *   config (e.g. changing an immutable field such as `storage`)
 */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<StreamInfo> {
  try {
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(config.name);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      try {
        return await jsm.streams.add(config);
      } catch (addErr) {
        // Another replica created it meanwhile: fall through to the compare.
        info = await jsm.streams.info(config.name).catch(() => {
          throw addErr;
        });
      }
    }
    const diff = configDiff(config, info.config);
    if (diff.length === 0) return info;
    const { name: _name, ...update } = config;
    return await jsm.streams.update(config.name, update);
  } catch (err) {
    throw new AppError(
      'NATS_PROVISIONING_FAILED',
      `stream ${config.name}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Creates the durable consumer `config.durable_name` on `stream`, or updates
 * it when a given field differs, or does nothing when identical.
 *
 * @throws AppError `NATS_PROVISIONING_FAILED` (e.g. changing `ack_policy`
 *   or `deliver_policy`, which JetStream does not allow)
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<ConsumerInfo> {
  const name = config.durable_name;
  try {
    let info: ConsumerInfo;
    try {
      info = await jsm.consumers.info(stream, name);
    } catch (err) {
      if (!isConsumerNotFound(err)) throw err;
      try {
        return await jsm.consumers.add(stream, config);
      } catch (addErr) {
        info = await jsm.consumers.info(stream, name).catch(() => {
          throw addErr;
        });
      }
    }
    const diff = configDiff(config, info.config);
    if (diff.length === 0) return info;
    return await jsm.consumers.update(stream, name, config);
  } catch (err) {
    throw new AppError(
      'NATS_PROVISIONING_FAILED',
      `consumer ${stream}/${name}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Options of {@link ensureKv}. */
export interface EnsureKvOptions extends Partial<KvOptions> {
  /** Max age of an entry in ms (0 / undefined = forever). */
  ttl?: number;
  /** Values kept per key (default 1). */
  history?: number;
}

/**
 * Opens the KV bucket, creating it when missing; when it exists with a
 * different `ttl` or `history`, updates the backing stream (`KV_<bucket>`).
 *
 * @throws AppError `NATS_PROVISIONING_FAILED`
 */
export async function ensureKv(
  js: JetStreamClient,
  bucket: string,
  opts: EnsureKvOptions = {},
): Promise<KV> {
  try {
    const kv = await new Kvm(js).create(bucket, opts);
    const status = await kv.status();
    const wantTtl = opts.ttl ?? 0;
    const wantHistory = opts.history ?? 1;
    if (status.ttl !== wantTtl || status.history !== wantHistory) {
      const jsm = await js.jetstreamManager();
      const maxAge = nanos(wantTtl);
      const dupWindow = status.streamInfo.config.duplicate_window;
      await jsm.streams.update(status.streamInfo.config.name, {
        max_age: maxAge,
        max_msgs_per_subject: wantHistory,
        // JetStream requires duplicate_window <= max_age
        ...(wantTtl > 0 && dupWindow > maxAge ? { duplicate_window: maxAge } : {}),
      });
    }
    return kv;
  } catch (err) {
    throw new AppError(
      'NATS_PROVISIONING_FAILED',
      `KV bucket ${bucket}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
