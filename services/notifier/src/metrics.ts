/**
 * Prometheus metrics of the notifier (served on METRICS_PORT at `/metrics`).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The notifier's metric handles. */
export interface NotifierMetrics {
  /** Events taken from JetStream, by outcome (`recorded`, `unmatched`, `invalid`). */
  events: Counter<'outcome'>;
  /** Finished deliveries by outcome (`delivered`, `failed`, `aborted`) and endpoint. */
  deliveries: Counter<'outcome' | 'endpoint'>;
  /** Attempts by result (`success`, `failure`) and endpoint. */
  attempts: Counter<'result' | 'endpoint'>;
  /** Attempt latency (request start → response end), seconds. */
  attemptSeconds: Histogram<'result'>;
  /** Dead letters by endpoint. */
  deadLetters: Counter<'endpoint'>;
  /** Fast-path deliveries given queue entries after the fast-path window (or a lost lane). */
  spilled: Counter;
  /** Deliveries not finished yet (all endpoints; refreshed every poll). */
  queueDepth: Gauge;
  /** Age of the oldest due delivery waiting in the lanes this replica holds, seconds. */
  oldestDueAge: Gauge;
  /** Circuit state per endpoint: 0 closed, 1 open, 2 half-open. */
  circuit: Gauge<'endpoint'>;
  /** Lanes leased by this replica. */
  lanesHeld: Gauge;
  /** Requests in flight on this replica. */
  inFlight: Gauge;
}

/** Registers the notifier metrics on `registry`. */
export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'tgbridge_notifier_events_total',
      help: 'Events taken from JetStream',
      labelNames: ['outcome'],
      registers,
    }),
    deliveries: new Counter({
      name: 'tgbridge_notifier_deliveries_total',
      help: 'Finished webhook deliveries',
      labelNames: ['outcome', 'endpoint'],
      registers,
    }),
    attempts: new Counter({
      name: 'tgbridge_notifier_attempts_total',
      help: 'Webhook HTTP attempts',
      labelNames: ['result', 'endpoint'],
      registers,
    }),
    attemptSeconds: new Histogram({
      name: 'tgbridge_notifier_attempt_duration_seconds',
      help: 'Webhook attempt latency',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers,
    }),
    deadLetters: new Counter({
      name: 'tgbridge_notifier_dead_letters_total',
      help: 'Deliveries dead-lettered after the last attempt',
      labelNames: ['endpoint'],
      registers,
    }),
    spilled: new Counter({
      name: 'tgbridge_notifier_fast_path_spilled_total',
      help: 'Fast-path deliveries queued in MongoDB because they were not finished within NOTIFIER_FAST_PATH_MS',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'tgbridge_notifier_queue_depth',
      help: 'Deliveries not finished yet',
      registers,
    }),
    oldestDueAge: new Gauge({
      name: 'tgbridge_notifier_oldest_due_age_seconds',
      help: 'Age of the oldest due delivery waiting in the lanes this replica holds (max over replicas for the fleet)',
      registers,
    }),
    circuit: new Gauge({
      name: 'tgbridge_notifier_circuit_state',
      help: 'Circuit per endpoint: 0 closed, 1 open, 2 half-open',
      labelNames: ['endpoint'],
      registers,
    }),
    lanesHeld: new Gauge({
      name: 'tgbridge_notifier_lanes_held',
      help: 'Lanes leased by this replica',
      registers,
    }),
    inFlight: new Gauge({
      name: 'tgbridge_notifier_requests_in_flight',
      help: 'Webhook requests in flight',
      registers,
    }),
  };
}
