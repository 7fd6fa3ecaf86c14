/**
 * Prometheus metrics of a connector shard (prom-client). Names are prefixed
 * `tgbridge_connector_`; every series carries the `shard` default label.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The connector's metrics. */
export interface Metrics {
  registry: Registry;
  liveSessions: Gauge;
  leasesHeld: Gauge;
  members: Gauge;
  eventsPublished: Counter<'type' | 'recovered'>;
  publishLatency: Histogram;
  recoveredEvents: Counter;
  reconnects: Counter;
  connectFailures: Counter<'reason' | 'step'>;
  floodWaits: Counter<'outcome'>;
  sendLatency: Histogram<'command'>;
  commands: Counter<'command' | 'outcome'>;
  sessionsExpired: Counter;
  stateWritesPending: Gauge;
}

/** Creates the registry and metrics for `shard`. */
export function createMetrics(shard: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ shard });
  collectDefaultMetrics({ register: registry, prefix: 'tgbridge_connector_' });
  const p = 'tgbridge_connector_';
  return {
    registry,
    liveSessions: new Gauge({
      name: `${p}live_sessions`,
      help: 'Sessions connected to Telegram on this shard',
      registers: [registry],
    }),
    leasesHeld: new Gauge({
      name: `${p}leases_held`,
      help: 'Session leases held by this shard',
      registers: [registry],
    }),
    stateWritesPending: new Gauge({
      name: `${p}state_writes_pending`,
      help: 'Sessions whose update-state checkpoint or status change waits for the MongoDB writer (a growing value means MongoDB cannot keep up)',
      registers: [registry],
    }),
    members: new Gauge({
      name: `${p}members`,
      help: 'Live connector shards seen by this shard',
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: `${p}events_published_total`,
      help: 'Events acknowledged by JetStream',
      labelNames: ['type', 'recovered'],
      registers: [registry],
    }),
    publishLatency: new Histogram({
      name: `${p}publish_latency_seconds`,
      help: 'JetStream publish-to-ack latency',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    recoveredEvents: new Counter({
      name: `${p}recovered_events_total`,
      help: 'Events recovered by getDifference / getChannelDifference',
      registers: [registry],
    }),
    reconnects: new Counter({
      name: `${p}reconnects_total`,
      help: 'Reconnect attempts to Telegram',
      registers: [registry],
    }),
    connectFailures: new Counter({
      name: `${p}connect_failures_total`,
      help: 'Failed connection attempts by reason (timeout, network, rpc_error, error) and the step that failed (load, open, get_me, init_state, recover)',
      labelNames: ['reason', 'step'],
      registers: [registry],
    }),
    floodWaits: new Counter({
      name: `${p}flood_waits_total`,
      help: 'FLOOD_WAIT errors from Telegram (outcome waited or returned) and local rate limiting (queued_full)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    sendLatency: new Histogram({
      name: `${p}command_latency_seconds`,
      help: 'Latency of commands (send_message, ...) including rate-limit waits',
      labelNames: ['command'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    commands: new Counter({
      name: `${p}commands_total`,
      help: 'Commands handled, by outcome (ok or an error code)',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    sessionsExpired: new Counter({
      name: `${p}sessions_expired_total`,
      help: 'Sessions found revoked by Telegram',
      registers: [registry],
    }),
  };
}
