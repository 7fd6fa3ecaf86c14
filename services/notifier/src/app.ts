/**
 * Notifier wiring: MongoDB (endpoints, queue, deliveries, attempts, lanes),
 * NATS (events stream + durable intake consumer, DLQ stream, the request/
 * reply API, wake and change notices), the delivery engine, metrics and
 * health. `createNotifier(config).start()` is what `main.ts` and tests run.
 */
import { jetstream } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { Connection } from 'mongoose';
import type { Logger } from 'pino';
import { Keyring } from '@tgbridge/platform/crypto';
import { eventLoopCheck, HealthRegistry, mongoCheck, natsCheck } from '@tgbridge/platform/health';
import { createLogger } from '@tgbridge/platform/logging';
import { createRegistry, startMetricsServer, type MetricsServer } from '@tgbridge/platform/metrics';
import { closeMongo, connectMongo } from '@tgbridge/platform/mongo';
import { connectNats, drainNats, type NatsConnection } from '@tgbridge/platform/nats';
import type { NotifierConfig } from './config.js';
import { Intake, readAckFloor, WAKE_SUBJECT, type WakeNotice } from './consumers/intake.js';
import { DeliveryEngine } from './delivery/engine.js';
import { serveApi } from './handlers/api.js';
import { CHANGED_SUBJECT, withPrefix } from './handlers/subjects.js';
import { collections, ensureIndexes, type Collections } from './infra/collections.js';
import { EndpointStore } from './infra/endpoints.js';
import { WebhookHttpClient, type TargetPolicy } from './infra/http-client.js';
import { Recorder } from './infra/queue.js';
import { ensureStreams, NotifierPublisher } from './infra/streams.js';
import { createNotifierMetrics } from './metrics.js';

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  logger?: Logger;
  /** Serve metrics/health on METRICS_PORT (default true). */
  metricsServer?: boolean;
}

/** A running (or startable) notifier. */
export interface Notifier {
  /** Connects, provisions streams and indexes, starts intake, engine and API. */
  start(): Promise<void>;
  /** Graceful stop (intake first, in-flight attempts finish, lanes released). Idempotent. */
  stop(): Promise<void>;
  /** Collections (after start), for tests. */
  readonly collections: Collections;
  /** The engine (after start), for tests. */
  readonly engine: DeliveryEngine;
  /** Bound metrics port (after start; 0 without a metrics server). */
  readonly metricsPort: number;
}

/** The SSRF policy of a configuration. */
export function targetPolicy(config: NotifierConfig): TargetPolicy {
  return {
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    allowedCidrs: config.WEBHOOK_ALLOWED_CIDRS,
  };
}

/** Creates the notifier for `config`; nothing connects until `start()`. */
export function createNotifier(config: NotifierConfig, opts: NotifierOptions = {}): Notifier {
  const logger =
    opts.logger ?? createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  let mongo: Connection | undefined;
  let nats: NatsConnection | undefined;
  let c: Collections | undefined;
  let engine: DeliveryEngine | undefined;
  let intake: Intake | undefined;
  let recorder: Recorder | undefined;
  let http: WebhookHttpClient | undefined;
  let metricsServer: MetricsServer | undefined;
  let subs: Subscription[] = [];
  let sweeper: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  const health = new HealthRegistry();

  return {
    get collections() {
      if (!c) throw new Error('notifier not started');
      return c;
    },
    get engine() {
      if (!engine) throw new Error('notifier not started');
      return engine;
    },
    get metricsPort() {
      return metricsServer?.port ?? 0;
    },
    async start() {
      const keyring = Keyring.fromEnv(
        config.SESSION_ENCRYPTION_KEYS,
        config.SESSION_ENCRYPTION_ACTIVE_KEY_ID,
      );
      const registry = createRegistry(config.SERVICE_NAME);
      const metrics = createNotifierMetrics(registry);
      mongo = await connectMongo({ url: config.MONGO_URL, logger, autoIndex: false });
      nats = await connectNats({ url: config.NATS_URL, name: config.SERVICE_NAME, logger });
      const nc = nats;
      c = collections(mongo.db!);
      await ensureIndexes(c, config.WEBHOOK_RETENTION_MS);
      const batch = config.NOTIFIER_INTAKE_BATCH;
      // well inside the lane lease, so a lane's fast-path deliveries are
      // queued long before a missed renewal could hand the lane to another replica
      const fastPathMs = Math.min(
        config.NOTIFIER_FAST_PATH_MS,
        Math.floor(config.WEBHOOK_LEASE_MS / 4),
      );
      const streams = await ensureStreams(
        nc,
        {
          eventsStream: config.EVENTS_STREAM,
          dlqStream: config.DLQ_STREAM,
          consumer: config.NOTIFIER_CONSUMER,
          filter: config.NOTIFIER_EVENTS_FILTER,
          ackWaitMs: config.NOTIFIER_ACK_WAIT_MS,
          maxAckPending: batch * 4,
          retentionMs: config.WEBHOOK_RETENTION_MS,
        },
        logger,
      );
      const js = jetstream(nc);
      const endpoints = new EndpointStore(c, keyring);
      await endpoints.syncDefault({
        baseUrl: config.LARAVEL_BASE_URL,
        bearer: config.WEBHOOK_SECRET_TOKEN,
        signingSecret: config.WEBHOOK_SIGNING_SECRET,
      });
      await endpoints.reload();
      const policy = targetPolicy(config);
      http = new WebhookHttpClient(policy, config.WEBHOOK_ENDPOINT_CONCURRENCY);
      recorder = new Recorder(c, 20, 500, (err) =>
        logger.warn({ err: (err as Error).message }, 'writing delivery records failed; will retry'),
      );
      const publisher = new NotifierPublisher(js, logger);
      engine = new DeliveryEngine(
        {
          c,
          endpoints,
          http,
          recorder,
          publisher,
          metrics,
          logger,
          readFloor: () => readAckFloor(js, streams.events, config.NOTIFIER_CONSUMER),
        },
        {
          retryScheduleMs: config.WEBHOOK_RETRY_SCHEDULE,
          jitter: config.WEBHOOK_JITTER,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          endpointConcurrency: config.WEBHOOK_ENDPOINT_CONCURRENCY,
          globalConcurrency: config.WEBHOOK_GLOBAL_CONCURRENCY,
          leaseMs: config.WEBHOOK_LEASE_MS,
          laneMemory: config.WEBHOOK_LANE_MEMORY,
          pollMs: config.WEBHOOK_POLL_MS,
          disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
          circuitCooldownMs: config.WEBHOOK_CIRCUIT_COOLDOWN_MS,
          userAgent: config.WEBHOOK_USER_AGENT,
          fastPathMs,
        },
      );
      const eng = engine;
      eng.setFloor(await readAckFloor(js, streams.events, config.NOTIFIER_CONSUMER));
      subs.push(
        nc.subscribe(withPrefix(WAKE_SUBJECT, config.NOTIFIER_SUBJECT_PREFIX), {
          callback: (err, msg) => {
            if (err) return;
            try {
              const n = msg.json<WakeNotice>();
              if (n.from === eng.owner) return;
              if (n.floor > 0) {
                eng.setFloor(n.floor);
                intake?.noteAckFloor(n.floor);
              }
              if (Array.isArray(n.lanes)) eng.wake(n.lanes);
            } catch {
              /* ignore malformed notices */
            }
          },
        }),
        nc.subscribe(withPrefix(CHANGED_SUBJECT, config.NOTIFIER_SUBJECT_PREFIX), {
          callback: () => void endpoints.changed().catch(() => {}),
        }),
      );
      subs.push(
        ...serveApi({
          nc,
          c,
          endpoints,
          engine: eng,
          policy,
          partitions: config.WEBHOOK_LANE_PARTITIONS,
          rotationGraceMs: config.WEBHOOK_ROTATION_GRACE_MS,
          prefix: config.NOTIFIER_SUBJECT_PREFIX,
          logger,
        }),
      );
      eng.start();
      intake = new Intake({
        js,
        nc,
        stream: streams.events,
        consumer: config.NOTIFIER_CONSUMER,
        batch,
        ackWaitMs: config.NOTIFIER_ACK_WAIT_MS,
        fastPathMs,
        partitions: config.WEBHOOK_LANE_PARTITIONS,
        c,
        endpoints,
        engine: eng,
        metrics,
        wakeSubject: withPrefix(WAKE_SUBJECT, config.NOTIFIER_SUBJECT_PREFIX),
        logger,
      });
      await intake.start();
      const coll = c;
      sweeper = setInterval(() => {
        const cutoff = new Date(Date.now() - config.WEBHOOK_RETENTION_MS);
        void Promise.all([
          coll.deliveries.deleteMany({ completedAt: { $lt: cutoff } }),
          coll.attempts.deleteMany({ at: { $lt: cutoff } }),
        ]).catch(() => {});
      }, 3_600_000);
      sweeper.unref();
      health
        .add('nats', natsCheck(nc))
        .add('mongo', mongoCheck(mongo))
        .add('eventLoop', eventLoopCheck(), { liveness: true });
      if (opts.metricsServer !== false) {
        metricsServer = await startMetricsServer(config.METRICS_PORT, registry, health);
      }
      logger.info(
        {
          stream: streams.events,
          consumer: config.NOTIFIER_CONSUMER,
          defaultEndpoint: Boolean(config.LARAVEL_BASE_URL),
          owner: eng.owner,
        },
        'notifier started',
      );
    },
    stop() {
      stopped ??= (async () => {
        health.setShuttingDown();
        if (sweeper) clearInterval(sweeper);
        await intake?.stop();
        for (const s of subs) s.unsubscribe();
        subs = [];
        await engine?.stop(Math.max(1000, config.SHUTDOWN_TIMEOUT_MS - 2000));
        await intake?.drain(config.NOTIFIER_FAST_PATH_MS + 2000);
        await recorder?.close();
        http?.close();
        await metricsServer?.close();
        if (nats) await drainNats(nats);
        if (mongo) await closeMongo(mongo);
      })();
      return stopped;
    },
  };
}
