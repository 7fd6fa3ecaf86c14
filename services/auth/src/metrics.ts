import { Counter, Histogram, type Registry } from 'prom-client';

/** The auth service's Prometheus metrics (docs/metrics.md). */
export interface AuthMetrics {
  /** AuthService calls by method and outcome (`ok` or the LoginError reason). */
  rpcs: Counter<'method' | 'outcome'>;
  /** AuthService call duration in seconds, by method. */
  rpcDuration: Histogram<'method'>;
  /** Login flows started, by method (`qr`, `phone`). */
  flowsStarted: Counter<'method'>;
  /** Login flows that ended connected, by method. */
  flowsCompleted: Counter<'method'>;
  /** Failed login steps, by LoginError reason (PHONE_CODE_INVALID, FLOOD_WAIT, ...). */
  flowsFailed: Counter<'reason'>;
}

/** Creates and registers the auth metrics on `registry`. */
export function createAuthMetrics(registry: Registry): AuthMetrics {
  const registers = [registry];
  return {
    rpcs: new Counter({
      name: 'tgbridge_auth_rpc_total',
      help: 'AuthService calls by method and outcome (ok or LoginError reason)',
      labelNames: ['method', 'outcome'] as const,
      registers,
    }),
    rpcDuration: new Histogram({
      name: 'tgbridge_auth_rpc_duration_seconds',
      help: 'AuthService call duration by method',
      labelNames: ['method'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    }),
    flowsStarted: new Counter({
      name: 'tgbridge_auth_login_flows_started_total',
      help: 'Login flows started, by method (qr, phone)',
      labelNames: ['method'] as const,
      registers,
    }),
    flowsCompleted: new Counter({
      name: 'tgbridge_auth_login_flows_completed_total',
      help: 'Login flows that ended connected, by method (qr, phone)',
      labelNames: ['method'] as const,
      registers,
    }),
    flowsFailed: new Counter({
      name: 'tgbridge_auth_login_flows_failed_total',
      help: 'Failed login steps by LoginError reason',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}
