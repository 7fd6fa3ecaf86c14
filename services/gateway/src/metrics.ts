import { Histogram, type Registry } from 'prom-client';

/** The gateway's Prometheus metrics (docs/metrics.md). */
export interface GatewayMetrics {
  /** REST request duration in seconds by method, route template and status code (RED). */
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/** Creates and registers the gateway metrics on `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    httpDuration: new Histogram({
      name: 'tgbridge_gateway_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
