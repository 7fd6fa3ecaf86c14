/**
 * The shard's small HTTP server on METRICS_PORT: `/metrics` (Prometheus),
 * `/healthz` (process alive) and `/readyz` (NATS connected and the shard
 * started), for Kubernetes probes and scraping.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Starts the server; resolves with it once listening. Port 0 picks a free port. */
export async function startOpsServer(
  port: number,
  registry: Registry,
  ready: () => boolean,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ready' : 'not_ready' }));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return server;
}
