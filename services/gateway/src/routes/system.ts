/**
 * Public operational routes: `/healthz` (liveness: the process answers),
 * `/readyz` (MongoDB ping, NATS round trip, auth gRPC health check; 503 with
 * per-check detail when one fails) and `/metrics` (Prometheus text).
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { checkHealth } from '../infra/grpc-health.js';

/** Runs `fn` with a timeout; resolves to `'ok'` or an error text. */
async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers health and metrics routes. */
export default async function systemRoutes(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const hide = { hide: true };
  app.get('/healthz', { config: { public: true }, schema: { tags: ['ops'] } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { config: { public: true }, schema: { tags: ['ops'] } },
    async (_req, reply) => {
      const [mongo, nats, auth] = await Promise.all([
        probe(async () => {
          const db = deps.mongo.db;
          if (!db) throw new Error('not connected');
          await db.command({ ping: 1 });
        }),
        probe(async () => {
          if (deps.nats.isClosed()) throw new Error('closed');
          await deps.nats.flush();
        }),
        probe(async () => {
          const s = await checkHealth(deps.auth.raw, '', 2000);
          if (s !== 'SERVING') throw new Error(s);
        }, 2500),
      ]);
      const checks = { mongo, nats, auth };
      const ready = Object.values(checks).every((v) => v === 'ok');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );

  app.get('/metrics', { config: { public: true }, schema: hide }, async (_req, reply) => {
    const text = await deps.metrics.metrics();
    return reply.header('content-type', deps.metrics.contentType).send(text);
  });
}
