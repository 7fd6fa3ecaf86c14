/**
 * NATS access of the connector: the connection, JetStream, the events stream
 * (ensured idempotently) and the two KV buckets (membership, leases).
 * Stream settings are documented in docs/contracts.md ("TG_EVENTS stream").
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  type JetStreamClient,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { EVENT_SUBJECT_PREFIX } from '@tgbridge/proto/subjects';

/** Connects to NATS with infinite reconnects. @throws when the first connect fails */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  });
}

/** Events stream settings. Durations in ms; maxBytes -1 = unlimited. */
export interface EventsStreamOptions {
  name: string;
  duplicateWindowMs: number;
  maxAgeMs: number;
  maxBytes: number;
  replicas: number;
}

const NS_PER_MS = 1_000_000;

/**
 * Creates the events stream (subjects `tg.evt.>`, limits retention, file
 * storage) or updates its limits to the configured ones. Safe to call from
 * every shard at every start.
 */
export async function ensureEventsStream(
  nc: NatsConnection,
  o: EventsStreamOptions,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const want: Partial<StreamConfig> = {
    name: o.name,
    subjects: [`${EVENT_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: o.maxAgeMs * NS_PER_MS,
    max_bytes: o.maxBytes,
    duplicate_window: o.duplicateWindowMs * NS_PER_MS,
    num_replicas: o.replicas,
    max_msg_size: 1024 * 1024,
  };
  try {
    const info = await jsm.streams.info(o.name);
    const c = info.config;
    if (
      c.max_age !== want.max_age ||
      c.max_bytes !== want.max_bytes ||
      c.duplicate_window !== want.duplicate_window ||
      c.num_replicas !== want.num_replicas
    ) {
      await jsm.streams.update(o.name, { ...c, ...want, subjects: c.subjects });
    }
  } catch (e) {
    if (!/stream not found/i.test(String((e as Error).message))) throw e;
    try {
      await jsm.streams.add({ ...want, name: o.name });
    } catch (e2) {
      // another shard created it concurrently
      if (!/already in use|exists/i.test(String((e2 as Error).message))) throw e2;
    }
  }
}

/** JetStream client. */
export function js(nc: NatsConnection): JetStreamClient {
  return jetstream(nc);
}

/** Opens (creating when missing) a KV bucket whose entries live `ttlMs`, history 1. */
export async function openBucket(nc: NatsConnection, bucket: string, ttlMs: number): Promise<KV> {
  const kvm = new Kvm(nc);
  return kvm.create(bucket, { ttl: ttlMs, history: 1 });
}
