/**
 * Wiring of a connector shard: NATS (events stream, membership and lease
 * buckets), MongoDB (sessions), the placement loop, session runners, command
 * subscriptions, the session-events consumer and the ops HTTP server.
 * `start()`/`stop()` are used by main.ts and by tests.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import mongoose from 'mongoose';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { KvWatchEntry } from '@nats-io/kv';
import { Keyring } from '@tgbridge/platform/crypto';
import { createLogger, type Logger } from '@tgbridge/platform/logging';
import { telegramTargetFromEnv } from '@tgbridge/telegram';
import type { ConnectorConfig } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { connectNats, ensureEventsStream, js as jetstreamOf, openBucket } from './infra/nats.js';
import { createPublisher } from './infra/publisher.js';
import { SessionsRepo } from './infra/sessions-repo.js';
import { startOpsServer } from './infra/http.js';
import { Membership } from './domain/membership.js';
import { Leases } from './domain/leases.js';
import { Placement } from './domain/placement.js';
import { SessionRunner } from './domain/session-runner.js';
import { subscribeCommands } from './handlers/commands.js';
import {
  startSessionEventsConsumer,
  type SessionEventsConsumer,
} from './consumers/session-events.js';

/** Build version reported in heartbeats. */
export const VERSION = '0.1.0';

/** A connector shard. */
export interface ConnectorApp {
  readonly shardId: string;
  readonly instanceId: string;
  readonly metrics: Metrics;
  /** The placement loop (runners), available after start(). */
  placement(): Placement | undefined;
  /** Port of the ops HTTP server (after start). */
  opsPort(): number | undefined;
  /** Connects everything and starts taking sessions. @throws on NATS/MongoDB/config errors */
  start(): Promise<void>;
  /** Disconnects every session, releases leases, leaves membership, closes connections. */
  stop(): Promise<void>;
}

/** Creates (does not start) a shard from its configuration. */
export function createApp(config: ConnectorConfig, opts: { logger?: Logger } = {}): ConnectorApp {
  const shardId = config.SHARD_ID;
  const instanceId = randomUUID();
  const log =
    opts.logger ??
    createLogger({
      service: config.SERVICE_NAME,
      level: config.LOG_LEVEL,
      base: { shard: shardId },
    });
  const metrics = createMetrics(shardId);
  let nc: NatsConnection | undefined;
  /** Membership and leases: a connection of their own (see start()). */
  let coord: NatsConnection | undefined;
  let mongo: mongoose.Connection | undefined;
  let placement: Placement | undefined;
  let membership: Membership | undefined;
  let consumer: SessionEventsConsumer | undefined;
  let leaseWatch: { stop(): void } | undefined;
  let reconcile: NodeJS.Timeout | undefined;
  let ops: Server | undefined;
  let started = false;
  const subs = new Map<string, Subscription>();

  return {
    shardId,
    instanceId,
    metrics,
    placement: () => placement,
    opsPort: () => {
      const a = ops?.address();
      return a && typeof a === 'object' ? a.port : undefined;
    },

    async start() {
      const keyring = Keyring.fromEnv(
        config.SESSION_ENCRYPTION_KEYS,
        config.SESSION_ENCRYPTION_ACTIVE_KEY_ID,
      );
      const target = telegramTargetFromEnv({
        TELEGRAM_DC: config.TELEGRAM_DC,
        TELEGRAM_RSA_PUBLIC_KEY: config.TELEGRAM_RSA_PUBLIC_KEY,
        TELEGRAM_API_ID: config.TELEGRAM_API_ID,
        TELEGRAM_API_HASH: config.TELEGRAM_API_HASH,
      });
      nc = await connectNats(config.NATS_URL, `connector-${shardId}`);
      await ensureEventsStream(nc, {
        name: config.EVENTS_STREAM,
        duplicateWindowMs: config.EVENTS_DUPLICATE_WINDOW_MS,
        maxAgeMs: config.EVENTS_MAX_AGE_MS,
        maxBytes: config.EVENTS_MAX_BYTES,
        replicas: config.EVENTS_REPLICAS,
      });
      // Heartbeats and lease refreshes use a second connection: on the events
      // connection they would queue behind thousands of event publishes and
      // their acks during a burst, miss the lease deadline and make the
      // shard drop its sessions.
      coord = await connectNats(config.NATS_URL, `connector-${shardId}-coord`);
      const shardsKv = await openBucket(coord, config.SHARDS_BUCKET, config.MEMBERSHIP_TTL_MS);
      const leasesKv = await openBucket(coord, config.LEASES_BUCKET, config.LEASE_TTL_MS);
      mongo = await mongoose
        .createConnection(config.MONGO_URL, { serverSelectionTimeoutMS: 10_000 })
        .asPromise();
      const repo = new SessionsRepo(mongo);
      await repo.init();
      const js = jetstreamOf(nc);
      const publish = createPublisher(js, metrics);
      const conn = nc;

      membership = new Membership(
        shardsKv,
        {
          shardId,
          instanceId,
          ttlMs: config.MEMBERSHIP_TTL_MS,
          heartbeatMs: config.HEARTBEAT_INTERVAL_MS,
          version: VERSION,
          liveSessions: () => placement?.liveCount() ?? 0,
        },
        log.child({ component: 'membership' }),
      );
      const leases = new Leases(
        leasesKv,
        shardId,
        instanceId,
        config.LEASE_TTL_MS,
        log.child({ component: 'leases' }),
        (id, revision) => placement?.leaseLost(id, revision),
      );
      const settings = {
        requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
        connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
        keepaliveMs: config.KEEPALIVE_INTERVAL_MS,
        reconnectBaseMs: config.RECONNECT_BASE_MS,
        reconnectMaxMs: config.RECONNECT_MAX_MS,
        debounceMs: config.CONNECTION_EVENT_DEBOUNCE_MS,
        floodMaxSleepS: config.FLOOD_WAIT_MAX_SLEEP_S,
        ratePerS: config.OUTBOUND_RATE_PER_S,
        burst: config.OUTBOUND_BURST,
        queue: config.OUTBOUND_QUEUE,
      };
      const cmdDeps = {
        nc: conn,
        repo,
        metrics,
        logger: log.child({ component: 'commands' }),
        floodMaxSleepS: config.FLOOD_WAIT_MAX_SLEEP_S,
      };
      const p = new Placement(
        {
          shardId,
          concurrency: config.START_CONCURRENCY,
          placementIntervalMs: config.PLACEMENT_INTERVAL_MS,
          leaseRefreshMs: config.LEASE_REFRESH_INTERVAL_MS,
          stateFlushMs: config.STATE_FLUSH_INTERVAL_MS,
          tickMs: 250,
        },
        membership,
        leases,
        repo,
        {
          create: (ref) =>
            new SessionRunner(ref, {
              shardId,
              instanceId,
              target,
              repo,
              publish,
              keyring,
              logger: log,
              metrics,
              settings,
              onExpired: (id) => placement?.expired(id),
            }),
          attached: (r) => subs.set(r.id, subscribeCommands(r, cmdDeps)),
          detached: (r) => {
            subs.get(r.id)?.unsubscribe();
            subs.delete(r.id);
          },
        },
        metrics,
        log.child({ component: 'placement' }),
      );
      placement = p;

      await membership.start();
      // let shards that start together see each other before taking sessions
      await new Promise((r) => setTimeout(r, config.HEARTBEAT_INTERVAL_MS));
      p.setKnown(await repo.listLive());
      const lw = await leasesKv.watch({ key: '>' });
      leaseWatch = lw;
      void (async () => {
        for await (const e of lw as AsyncIterable<KvWatchEntry>)
          if (e.operation !== 'PUT') p.schedulePass();
      })().catch(() => {});
      if (config.SESSION_EVENTS_CONSUMER) {
        consumer = await startSessionEventsConsumer(
          js,
          config.EVENTS_STREAM,
          {
            authorized: (ref) => {
              const existing = p.runner(ref.id);
              if (existing) void p.handOff(ref.id, 'reauthorized');
              p.addKnown(ref);
            },
            loggedOut: (id) => p.removeKnown(id),
          },
          log.child({ component: 'session-events' }),
        );
      }
      reconcile = setInterval(() => {
        repo
          .listLive()
          .then((refs) => p.setKnown(refs))
          .catch((err: unknown) =>
            log.warn({ err: { message: (err as Error).message } }, 'reconcile failed'),
          );
      }, config.RECONCILE_INTERVAL_MS);
      ops = await startOpsServer(
        config.METRICS_PORT,
        metrics.registry,
        () => started && !conn.isClosed() && !coord?.isClosed(),
      );
      p.start();
      started = true;
      log.info(
        { shard: shardId, instance: instanceId, members: membership.members() },
        'connector shard started',
      );
    },

    async stop() {
      started = false;
      clearInterval(reconcile);
      await consumer?.stop().catch(() => {});
      leaseWatch?.stop();
      await placement?.stop();
      for (const s of subs.values()) s.unsubscribe();
      subs.clear();
      await membership?.stop();
      await nc?.drain().catch(() => {});
      await coord?.drain().catch(() => {});
      await mongo?.close().catch(() => {});
      await new Promise<void>((r) => (ops ? ops.close(() => r()) : r()));
      log.info('connector shard stopped');
    },
  };
}
