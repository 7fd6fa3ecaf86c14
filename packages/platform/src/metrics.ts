/**
 * Prometheus metrics (prom-client). Each service owns one Registry with
 * Node.js default metrics and a `service` label on every series.
 *
 * HTTP services (gateway) mount {@link metricsHandler} on their own server;
 * the others call {@link startMetricsServer} which also serves `/healthz`
 * and `/readyz` from a {@link HealthRegistry}.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { HealthRegistry, HealthReport } from './health.js';

/**
 * A registry with default metrics (process, heap, event-loop lag, GC)
 * and the default label `service`.
 */
export function createRegistry(service: string, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** A node:http handler that answers with the registry's metrics in text format. */
export function metricsHandler(
  registry: Registry,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics collection failed: ${(err as Error).message}`);
    }
  };
}

function sendHealth(res: ServerResponse, report: HealthReport): void {
  res.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify(report));
}

/** A running metrics/health server. */
export interface MetricsServer {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics`, `/healthz` (liveness) and `/readyz` (readiness),
 * 200 or 503 with the JSON report, on `host` (default 0.0.0.0 — probes and
 * scrapers come from outside the pod).
 *
 * @param port 0 picks a free port
 * @throws when the port cannot be bound
 */
export async function startMetricsServer(
  port: number,
  registry: Registry,
  health?: HealthRegistry,
  host = '0.0.0.0',
): Promise<MetricsServer> {
  const metrics = metricsHandler(registry);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') void metrics(req, res);
    else if (path === '/healthz' && health) void health.liveness().then((r) => sendHealth(res, r));
    else if (path === '/readyz' && health) void health.readiness().then((r) => sendHealth(res, r));
    else if (path === '/healthz' || path === '/readyz')
      sendHealth(res, { status: 'ok', checks: {} });
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
