/**
 * Connector configuration: the platform base schema plus sharding, lease,
 * connection and stream settings. Every key is documented in `.env.example`
 * and the README's configuration table.
 */
import { hostname } from 'node:os';
import type { z } from 'zod';
import {
  baseConfigSchema,
  bool,
  durationMs,
  int,
  loadConfig,
  str,
} from '@tgbridge/platform/config';

/** Zod schema of the connector's environment. */
export const connectorConfigSchema = baseConfigSchema.extend({
  SERVICE_NAME: str({ default: 'connector' }),
  /** Stable shard id; in Kubernetes the StatefulSet pod name (the default is the hostname). */
  SHARD_ID: str({ default: hostname() }),
  /** NATS KV bucket of shard heartbeats. */
  SHARDS_BUCKET: str({ default: 'tg_shards' }),
  /** NATS KV bucket of session leases. */
  LEASES_BUCKET: str({ default: 'tg_leases' }),
  /** A shard that has not heartbeated for this long is no longer a member. */
  MEMBERSHIP_TTL_MS: durationMs({ default: 6_000 }),
  /** How often a shard heartbeats (must be well below MEMBERSHIP_TTL_MS). */
  HEARTBEAT_INTERVAL_MS: durationMs({ default: 2_000 }),
  /**
   * Lease lifetime: how long a crashed shard's sessions stay blocked. A shard
   * drops (disconnects) a session whose lease it could not refresh for 3/4 of
   * this, so the TTL must leave room for a few refresh intervals.
   */
  LEASE_TTL_MS: durationMs({ default: 8_000 }),
  /** How often held leases are refreshed (compare-and-set); at most a third of LEASE_TTL_MS. */
  LEASE_REFRESH_INTERVAL_MS: durationMs({ default: 2_000 }),
  /** How often placement is recomputed (also on every membership and lease change). */
  PLACEMENT_INTERVAL_MS: durationMs({ default: 2_000 }),
  /** How often the session list is re-read from MongoDB. */
  RECONCILE_INTERVAL_MS: durationMs({ default: 30_000 }),
  /** Sessions connected at once during start-up or rebalancing. */
  START_CONCURRENCY: int({ default: 64, min: 1, max: 1000 }),
  /** JetStream stream of events (created or updated at start). */
  EVENTS_STREAM: str({ default: 'TG_EVENTS' }),
  /** Nats-Msg-Id de-duplication window of the stream. */
  EVENTS_DUPLICATE_WINDOW_MS: durationMs({ default: 15 * 60_000 }),
  /** How long events are kept in the stream. */
  EVENTS_MAX_AGE_MS: durationMs({ default: 7 * 24 * 3_600_000 }),
  /** Stream size cap in bytes (-1 = unlimited; oldest events are dropped first). */
  EVENTS_MAX_BYTES: int({ default: -1, min: -1 }),
  /** Stream replicas (1 for a single NATS server, 3 for a cluster). */
  EVENTS_REPLICAS: int({ default: 1, min: 1, max: 5 }),
  /** How often acknowledged update state is written to MongoDB. */
  STATE_FLUSH_INTERVAL_MS: durationMs({ default: 1_000 }),
  /** Per session: how often updates.getState checks the link and the authorization. */
  KEEPALIVE_INTERVAL_MS: durationMs({ default: 60_000 }),
  /** A Telegram request that takes longer than this counts as a dead link. */
  REQUEST_TIMEOUT_MS: durationMs({ default: 15_000 }),
  /** Bound on one connection attempt (TCP, initConnection, catch-up); a hung step is logged and retried. */
  CONNECT_TIMEOUT_MS: durationMs({ default: 30_000 }),
  /** First reconnect delay; doubles per attempt, with jitter. */
  RECONNECT_BASE_MS: durationMs({ default: 1_000 }),
  /** Reconnect delay cap. */
  RECONNECT_MAX_MS: durationMs({ default: 60_000 }),
  /** connection_lost is published only when the link stays down this long. */
  CONNECTION_EVENT_DEBOUNCE_MS: durationMs({ default: 5_000 }),
  /** FLOOD_WAIT up to this many seconds is waited out; longer ones are returned (HTTP 429). */
  FLOOD_WAIT_MAX_SLEEP_S: int({ default: 5, min: 0 }),
  /** Outbound requests per second per session (token bucket rate). */
  OUTBOUND_RATE_PER_S: int({ default: 5, min: 1 }),
  /** Token bucket size (burst) per session. */
  OUTBOUND_BURST: int({ default: 10, min: 1 }),
  /** Requests that may wait for a token per session; beyond that: FLOOD_WAIT error. */
  OUTBOUND_QUEUE: int({ default: 20, min: 0 }),
  /** Emulator (or custom DC) address host:port[/dc]; unset = real Telegram. */
  TELEGRAM_DC: str({ optional: true }),
  /** PEM (or path) of the custom DC's RSA public key; required with TELEGRAM_DC. */
  TELEGRAM_RSA_PUBLIC_KEY: str({ optional: true }),
  /** Telegram api_id (my.telegram.org); required for real Telegram. */
  TELEGRAM_API_ID: str({ optional: true }),
  /** Telegram api_hash; required for real Telegram. */
  TELEGRAM_API_HASH: str({ optional: true }),
  /** Subscribe to session_authorized / session_logged_out events (off only in special tests). */
  SESSION_EVENTS_CONSUMER: bool({ default: true }),
});

/** Parsed connector configuration (the schema's output). */
export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;

/**
 * Reads the connector configuration from `env`.
 * @throws ConfigError listing every problem, one line each.
 */
export function loadConnectorConfig(
  env: Record<string, string | undefined> = process.env,
): ConnectorConfig {
  return loadConfig(connectorConfigSchema, env);
}
