/**
 * Gateway wiring: MongoDB, NATS, the auth gRPC client, and the fastify app
 * (API-key hook, rate limits, validation, OpenAPI, error shape, metrics,
 * route modules from `routes/index.ts`). `createGateway(config).start()` is
 * what `main.ts` and the tests run.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Connection } from 'mongoose';
import type { Logger } from 'pino';
import { createGatewayMetrics } from './metrics.js';
import { createLogger } from '@tgbridge/platform/logging';
import { createRegistry } from '@tgbridge/platform/metrics';
import { closeMongo, connectMongo } from '@tgbridge/platform/mongo';
import { connectNats, drainNats, type NatsConnection } from '@tgbridge/platform/nats';
import type { GatewayConfig } from './config.js';
import type { GatewayDeps } from './deps.js';
import { createAuthClient, type AuthClient } from './infra/auth-client.js';
import { apiKeyModel } from './infra/api-keys.js';
import { installAuthentication } from './plugins/authenticate.js';
import { replyError } from './routes/errors.js';
import { routeModules } from './routes/index.js';

/** Options of {@link createGateway} (tests inject a logger). */
export interface GatewayOptions {
  /** Root logger; default a platform JSON logger on stdout. */
  logger?: Logger;
}

/** A running (or startable) gateway. */
export interface Gateway {
  /** Connects dependencies and listens. @returns the base URL (`http://host:port`) */
  start(): Promise<string>;
  /** Stops accepting requests, finishes in-flight ones, closes connections. Idempotent. */
  stop(): Promise<void>;
  /** The fastify instance (after start). */
  readonly app: FastifyInstance;
  /** The dependencies (after start). */
  readonly deps: GatewayDeps;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const DOCS_PREFIX = '/docs';

/**
 * Builds the fastify app over ready dependencies. Exported so other tests can
 * mount the gateway on their own connections.
 */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    requestIdHeader: false,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, allErrors: false } },
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  const { httpDuration } = createGatewayMetrics(deps.metrics);
  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return replyError(reply, 400, 'VALIDATION_ERROR', err.message);
    }
    const status = err.statusCode ?? 500;
    if (status === 429) {
      return replyError(reply, 429, 'RATE_LIMITED', 'Too many requests; slow down', {
        retry_after: Number(reply.getHeader('retry-after')) || undefined,
      });
    }
    if (status === 413)
      return replyError(reply, 413, 'PAYLOAD_TOO_LARGE', 'Request body too large');
    if (status === 415) {
      return replyError(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    }
    if (status === 400) {
      const code = err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'EMPTY_BODY' : 'INVALID_JSON';
      return replyError(reply, 400, code, 'Malformed request body: expected a JSON object');
    }
    if (status >= 400 && status < 500) {
      return replyError(reply, status, err.code ?? 'BAD_REQUEST', err.message);
    }
    request.log.error({ err }, 'request failed');
    return replyError(reply, 500, 'INTERNAL', 'Internal error');
  });
  app.setNotFoundHandler((_request, reply) =>
    replyError(reply, 404, 'NOT_FOUND', 'Route not found'),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'tgbridge gateway',
        version: '1.0.0',
        description:
          'Connects agents\u2019 Telegram accounts to a CRM. Routes under /api/telegram follow seed 000 exactly; ' +
          'errors are `{success:false, error, code}`. Unknown body fields are ignored.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  installAuthentication(app, config, apiKeyModel(deps.mongo), DOCS_PREFIX);

  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) =>
      request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`,
    allowList: (request) => request.routeOptions.config?.public === true,
  });

  for (const mod of routeModules) {
    await app.register(async (scope) => mod(scope, deps));
  }
  return app;
}

/** Creates the gateway for `config`; nothing connects until `start()`. */
export function createGateway(config: GatewayConfig, opts: GatewayOptions = {}): Gateway {
  const logger =
    opts.logger ?? createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  let app: FastifyInstance | undefined;
  let deps: GatewayDeps | undefined;
  let mongo: Connection | undefined;
  let nats: NatsConnection | undefined;
  let auth: AuthClient | undefined;
  let stopped: Promise<void> | undefined;

  return {
    get app() {
      if (!app) throw new Error('gateway not started');
      return app;
    },
    get deps() {
      if (!deps) throw new Error('gateway not started');
      return deps;
    },
    async start() {
      mongo = await connectMongo({ url: config.MONGO_URL, logger });
      nats = await connectNats({ url: config.NATS_URL, name: config.SERVICE_NAME, logger });
      auth = createAuthClient({
        addresses: config.AUTH_GRPC_ADDRESSES,
        timeoutMs: config.AUTH_GRPC_TIMEOUT_MS,
      });
      const metrics = createRegistry(config.SERVICE_NAME);
      deps = { config, logger, nats, mongo, auth, metrics };
      app = await buildApp(deps);
      const address = await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
      logger.info({ address }, 'gateway listening');
      return address;
    },
    stop() {
      stopped ??= (async () => {
        await app?.close();
        auth?.close();
        if (nats) await drainNats(nats);
        if (mongo) await closeMongo(mongo);
      })();
      return stopped;
    },
  };
}
