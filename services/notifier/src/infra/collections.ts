/**
 * MongoDB collections of the notifier (all owned by it; the gateway reaches
 * them only through the notifier's NATS API):
 *
 * - `webhook_endpoints`: endpoints; secrets sealed with the platform keyring.
 * - `delivery_queue`: deliveries not finished yet (the hot, small queue;
 *   one document per event × endpoint, deleted when finished).
 * - `deliveries`: finished deliveries (delivered / failed / aborted), with the
 *   body for replay; kept for WEBHOOK_RETENTION_MS.
 * - `delivery_attempts`: one document per HTTP attempt; same retention.
 * - `delivery_done`: markers of finished deliveries still in the queue
 *   (insert-only on the hot path; a sweeper removes marked queue entries and
 *   the markers in bulk, so no per-delivery update or delete touches the
 *   queue).
 * - `delivery_lanes`: one per (endpoint, partition): lease owner, lease
 *   expiry, due hint, a change counter and a claim count (see
 *   delivery/engine.ts).
 * - `delivery_lane_claims`: the latest claim of each lane, `<lane>#<gen>`
 *   (its unique `_id` decides between replicas claiming at once).
 *
 * Only operators that FerretDB (SQLite) serves are used: no transactions,
 * change streams, pipelines in updates, partial or TTL indexes (a TTL index
 * is attempted for MongoDB; the sweeper deletes expired records anyway).
 */
import type { Collection, Db } from 'mongodb';

/** A webhook endpoint. */
export interface EndpointDoc {
  /** `ep_<hex>`, or `default` for the seed-000 endpoint. */
  _id: string;
  /** Owning tenant; `*` for the default endpoint. */
  tenantId: string;
  /** Target URL; the default endpoint's contains `{agent_id}`. */
  url: string;
  description: string;
  /** Event types to deliver; empty = all (except operational types). */
  eventTypes: string[];
  /** Agents whose events are delivered; empty = all. */
  agentIds: string[];
  enabled: boolean;
  /** Why the notifier disabled it (`gone`, `failing`); null when enabled or disabled by the user. */
  disabledReason: string | null;
  /** Signing secrets, sealed (`v1.<kid>...`), newest first; `expiresAt` set on rotated-out ones. */
  secrets: Array<{ sealed: string; createdAt: Date; expiresAt: Date | null }>;
  /** Sealed Bearer token (default endpoint: WEBHOOK_SECRET_TOKEN). */
  bearerSealed: string | null;
  /** Start of the current run of failed attempts; null after a success. */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A delivery not finished yet. */
export interface QueueDoc {
  /** `<endpointId>.<eventId>`. */
  _id: string;
  lane: string;
  endpointId: string;
  tenantId: string;
  agentId: string;
  sessionId: string;
  eventId: string;
  eventType: string;
  /** JetStream stream sequence of the event: the order within a session. */
  streamSeq: number;
  /** Exact JSON body. */
  body: string;
  /** W3C traceparent of the event, if it had one. */
  traceparent: string | null;
  /** Attempts made so far. */
  attempts: number;
  /** Not before this time. */
  dueAt: Date;
  createdAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  /** What queued it: `event` (intake) or `replay`. */
  trigger: 'event' | 'replay';
  /** `attempts` when it was (re)queued: the retry schedule restarts from here on replay. */
  attemptBase: number;
}

/** Final state of a delivery. */
export type FinalStatus = 'delivered' | 'failed' | 'aborted';

/** A finished delivery. */
export interface DeliveryDoc extends Omit<QueueDoc, 'lane' | 'dueAt'> {
  status: FinalStatus;
  completedAt: Date;
}

/** One HTTP attempt. */
export interface AttemptDoc {
  /** `<deliveryId>#<attempt>#<time36>`. */
  _id: string;
  deliveryId: string;
  endpointId: string;
  tenantId: string;
  eventId: string;
  eventType: string;
  /** 1-based attempt number of this delivery (replays continue counting). */
  attempt: number;
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** First 1 KiB of the response body. */
  responseBody: string | null;
  /** `delivered`, `retry`, `failed` (last attempt), `aborted`, `gone`. */
  outcome: string;
  /** What started it: `event`, `retry`, `replay`. */
  trigger: string;
}

/** A finished delivery whose queue entry has not been swept yet. */
export interface DoneDoc {
  /** The delivery id. */
  _id: string;
  /** Attempts made when it finished (a replayed entry has at least this many). */
  attempts: number;
  at: Date;
}

/** A lane: the unit of work a replica leases. */
export interface LaneDoc {
  /** `<endpointId>:<partition>`. */
  _id: string;
  endpointId: string;
  owner: string | null;
  leaseUntil: Date;
  /** Has work due at or after this time; FAR_FUTURE when idle. */
  dueAt: Date;
  /** Incremented by intake whenever deliveries are added. */
  v: number;
  /** Claims so far (absent: none); the current holder took claim `gen`. */
  gen?: number;
}

/**
 * One claim of a lane: `_id` `<laneId>#<gen>`. Its unique `_id` makes a
 * claim exclusive on servers whose conditional updates are not atomic
 * (FerretDB on SQLite reads and writes in separate steps): of replicas
 * claiming the same expired lease, only the one that inserts the claim
 * document takes the lane.
 */
export interface LaneClaimDoc {
  _id: string;
  owner: string;
  at: Date;
}

/** "Idle" due date of a lane. */
export const FAR_FUTURE = new Date('9999-01-01T00:00:00Z');
/** "Free" lease date. */
export const EPOCH = new Date(0);

/** Typed handles of all notifier collections. */
export interface Collections {
  endpoints: Collection<EndpointDoc>;
  queue: Collection<QueueDoc>;
  deliveries: Collection<DeliveryDoc>;
  attempts: Collection<AttemptDoc>;
  lanes: Collection<LaneDoc>;
  laneClaims: Collection<LaneClaimDoc>;
  done: Collection<DoneDoc>;
}

/** Opens the collections of `db`. */
export function collections(db: Db): Collections {
  return {
    endpoints: db.collection<EndpointDoc>('webhook_endpoints'),
    queue: db.collection<QueueDoc>('delivery_queue'),
    deliveries: db.collection<DeliveryDoc>('deliveries'),
    attempts: db.collection<AttemptDoc>('delivery_attempts'),
    lanes: db.collection<LaneDoc>('delivery_lanes'),
    laneClaims: db.collection<LaneClaimDoc>('delivery_lane_claims'),
    done: db.collection<DoneDoc>('delivery_done'),
  };
}

/**
 * Creates the indexes (idempotent). TTL indexes are tried for MongoDB and
 * skipped where the server does not implement them (FerretDB).
 */
export async function ensureIndexes(c: Collections, retentionMs: number): Promise<void> {
  await c.endpoints.createIndex({ tenantId: 1, createdAt: -1 });
  await c.queue.createIndex({ lane: 1 });
  // lane pages: the entries with the lowest stream sequences first
  await c.queue.createIndex({ lane: 1, streamSeq: 1 });
  await c.queue.createIndex({ endpointId: 1, createdAt: -1 });
  await c.queue.createIndex({ eventId: 1 });
  await c.deliveries.createIndex({ endpointId: 1, createdAt: -1 });
  await c.deliveries.createIndex({ eventId: 1 });
  await c.deliveries.createIndex({ endpointId: 1, status: 1, completedAt: 1 });
  await c.attempts.createIndex({ endpointId: 1, at: -1 });
  await c.attempts.createIndex({ eventId: 1 });
  await c.attempts.createIndex({ deliveryId: 1 });
  await c.lanes.createIndex({ dueAt: 1 });
  const ttl = Math.max(1, Math.round(retentionMs / 1000));
  await c.deliveries
    .createIndex({ completedAt: 1 }, { expireAfterSeconds: ttl, name: 'ttl_completedAt' })
    .catch(() => undefined);
  await c.attempts
    .createIndex({ at: 1 }, { expireAfterSeconds: ttl, name: 'ttl_at' })
    .catch(() => undefined);
  // claims of lanes whose endpoint was deleted (others are removed when superseded)
  await c.laneClaims
    .createIndex({ at: 1 }, { expireAfterSeconds: 7 * 86_400, name: 'ttl_at' })
    .catch(() => undefined);
}
