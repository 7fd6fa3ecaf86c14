/**
 * Auth service wiring: MongoDB (sessions), NATS (events stream), the
 * session keyring, GramJS clients for the configured Telegram, the gRPC
 * server (AuthService + grpc.health.v1) and the flow sweeper.
 * `createAuthService(config).start()` is what `main.ts` and tests run.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Connection } from 'mongoose';
import type { Logger } from 'pino';
import { AuthServiceService } from '@tgbridge/proto/auth/v1/auth';
import { Keyring } from '@tgbridge/platform/crypto';
import { HealthRegistry, mongoCheck, natsCheck } from '@tgbridge/platform/health';
import { createLogger } from '@tgbridge/platform/logging';
import { createRegistry, startMetricsServer, type MetricsServer } from '@tgbridge/platform/metrics';
import { closeMongo, connectMongo } from '@tgbridge/platform/mongo';
import { connectNats, drainNats, type NatsConnection } from '@tgbridge/platform/nats';
import { sessionModel } from '@tgbridge/sessions';
import { telegramTargetFromEnv, type TelegramTarget } from '@tgbridge/telegram';
import type { AuthConfig } from './config.js';
import { LoginService } from './domain/login-service.js';
import { authServiceHandlers } from './handlers/grpc.js';
import { createAuthMetrics } from './metrics.js';
import { EventPublisher, ensureEventsStream } from './infra/events.js';
import { telegramClients } from './infra/telegram.js';

/** Options of {@link createAuthService} (tests inject a logger and the emulator target). */
export interface AuthServiceOptions {
  logger?: Logger;
  /** Telegram target; default from TELEGRAM_* config. */
  telegram?: TelegramTarget;
  /**
   * Create the events stream when missing (default true). Tests that share a
   * NATS server with other test files pass false: streams may not overlap.
   */
  ensureStream?: boolean;
  /** Serve `/metrics`, `/healthz`, `/readyz` on METRICS_PORT (default true; tests pass false). */
  metricsServer?: boolean;
}

/** A running (or startable) auth service. */
export interface AuthService {
  /** Connects dependencies and binds the gRPC port. @returns `host:port` bound */
  start(): Promise<string>;
  /** Graceful stop: NOT_SERVING, finish in-flight calls, destroy clients, close connections. Idempotent. */
  stop(): Promise<void>;
  /** Bound gRPC port (after start). */
  readonly port: number;
  /** The login domain (after start). */
  readonly logins: LoginService;
}

/** Creates the auth service for `config`; nothing connects until `start()`. */
export function createAuthService(config: AuthConfig, opts: AuthServiceOptions = {}): AuthService {
  const logger =
    opts.logger ?? createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  let mongo: Connection | undefined;
  let nats: NatsConnection | undefined;
  let server: Server | undefined;
  let logins: LoginService | undefined;
  let health: HealthImplementation | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let metricsServer: MetricsServer | undefined;
  let boundPort = 0;
  let stopped: Promise<void> | undefined;

  async function shutdownServer(s: Server, timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        s.forceShutdown();
        resolve();
      }, timeoutMs);
      s.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  return {
    get port() {
      return boundPort;
    },
    get logins() {
      if (!logins) throw new Error('auth service not started');
      return logins;
    },
    async start() {
      const keyring = Keyring.fromEnv(
        config.SESSION_ENCRYPTION_KEYS,
        config.SESSION_ENCRYPTION_ACTIVE_KEY_ID,
      );
      const target =
        opts.telegram ??
        telegramTargetFromEnv({
          TELEGRAM_DC: config.TELEGRAM_DC,
          TELEGRAM_RSA_PUBLIC_KEY: config.TELEGRAM_RSA_PUBLIC_KEY,
          TELEGRAM_API_ID:
            config.TELEGRAM_API_ID === undefined ? undefined : String(config.TELEGRAM_API_ID),
          TELEGRAM_API_HASH: config.TELEGRAM_API_HASH,
        });
      mongo = await connectMongo({ url: config.MONGO_URL, logger });
      nats = await connectNats({ url: config.NATS_URL, name: config.SERVICE_NAME, logger });
      if (opts.ensureStream !== false) await ensureEventsStream(nats, config.EVENTS_STREAM, logger);
      const sessions = sessionModel(mongo);
      await sessions.init();
      const registry = createRegistry(config.SERVICE_NAME);
      const metrics = createAuthMetrics(registry);
      logins = new LoginService({
        sessions,
        metrics,
        keyring,
        telegram: telegramClients(target),
        events: new EventPublisher(nats, logger),
        logger,
        flowTtlMs: config.LOGIN_FLOW_TTL_MS,
        qrRefreshMarginMs: config.QR_REFRESH_MARGIN_MS,
      });
      const service = logins;
      server = new Server({ 'grpc.keepalive_permit_without_calls': 1 });
      server.addService(AuthServiceService, authServiceHandlers(service, logger, metrics));
      health = new HealthImplementation({
        '': 'NOT_SERVING',
        'tgbridge.auth.v1.AuthService': 'NOT_SERVING',
      });
      health.addToServer(server);
      boundPort = await new Promise<number>((resolve, reject) =>
        server!.bindAsync(
          `${config.GRPC_HOST}:${config.GRPC_PORT}`,
          ServerCredentials.createInsecure(),
          (err, port) => (err ? reject(err) : resolve(port)),
        ),
      );
      health.setStatus('', 'SERVING');
      health.setStatus('tgbridge.auth.v1.AuthService', 'SERVING');
      sweeper = setInterval(() => {
        service.sweep().catch((err: unknown) => {
          logger.warn({ errMessage: (err as Error)?.message }, 'flow sweep failed');
        });
      }, config.LOGIN_SWEEP_INTERVAL_MS);
      sweeper.unref();
      if (opts.metricsServer !== false) {
        const checks = new HealthRegistry()
          .add('mongo', mongoCheck(mongo))
          .add('nats', natsCheck(nats));
        metricsServer = await startMetricsServer(config.METRICS_PORT, registry, checks);
      }
      const address = `${config.GRPC_HOST}:${boundPort}`;
      logger.info({ address }, 'auth gRPC listening');
      return address;
    },
    stop() {
      stopped ??= (async () => {
        if (sweeper) clearInterval(sweeper);
        await metricsServer?.close();
        health?.setStatus('', 'NOT_SERVING');
        health?.setStatus('tgbridge.auth.v1.AuthService', 'NOT_SERVING');
        if (server) await shutdownServer(server, Math.max(1000, config.SHUTDOWN_TIMEOUT_MS - 2000));
        await logins?.close();
        if (nats) await drainNats(nats);
        if (mongo) await closeMongo(mongo);
      })();
      return stopped;
    },
  };
}
