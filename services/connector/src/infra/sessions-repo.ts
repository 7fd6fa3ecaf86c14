/**
 * The connector's access to the `sessions` collection (@tgbridge/sessions)
 * and its own `send_idempotency` collection. Only runtime fields are written
 * (status connected/disconnected/expired, updateState, eventSequence,
 * lastActivityAt, connectedAt, endReason). Queries stay within the subset
 * FerretDB serves.
 */
import type { Connection, Model } from 'mongoose';
import {
  sessionModel,
  type SessionDoc,
  type SessionStatusName,
  type UpdateStateDoc,
} from '@tgbridge/sessions';

/** The fields placement needs about a live session. */
export interface LiveSessionRef {
  id: string;
  tenantId: string;
  agentId: string;
}

/** A state checkpoint to persist. */
export interface StateCheckpoint {
  id: string;
  state: UpdateStateDoc;
  eventSequence: number;
  lastActivityAt: Date;
  /** Set when the session (re)connected since the previous checkpoint. */
  connectedAt?: Date;
}

/** A remembered idempotent send. */
export interface IdempotentSend {
  messageId: number;
  sentAt: Date;
}

const RUNTIME: SessionStatusName[] = ['connected', 'disconnected'];

/**
 * Updates per bulk write. FerretDB 1.24 (SQLite backend, the default store of
 * tests and the local stack) stops answering every client for good after one
 * bulk write of 100 or more updates; 50 stays well clear of that and costs
 * real MongoDB nothing noticeable.
 */
const BULK_CHUNK = 50;

/** Statuses the connector writes while it holds a session. */
export type RuntimeStatus = 'connected' | 'disconnected';

/** One session's writes waiting for the writer (merged: the latest of each kind wins). */
interface PendingWrite {
  /** Written before every non-urgent write (hand-offs wait for it). */
  urgent: boolean;
  status?: { status: RuntimeStatus; at: Date };
  checkpoint?: StateCheckpoint;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/**
 * Sessions repository.
 *
 * Reads are single-document `_id` lookups (FerretDB serves them from its
 * primary key in ~2 ms, while an `_id: {$in: [...]}` query scans the whole
 * collection). Runtime writes (status changes and update-state checkpoints)
 * go through one writer: per session they are merged into a single
 * `updateOne`, and the writer sends one bulk write of at most
 * {@link BULK_CHUNK} updates at a time, never several concurrently
 * (concurrent writers contend for SQLite's write lock in FerretDB, end in
 * `SQLITE_BUSY`, and take several times longer in total).
 */
export class SessionsRepo {
  private readonly model: Model<SessionDoc>;
  private readonly pending = new Map<string, PendingWrite>();
  private readonly urgent = new Map<string, PendingWrite>();
  /** The bulk write in progress, by session. */
  private inFlight = new Map<string, PendingWrite>();
  private writing = false;

  constructor(private readonly conn: Connection) {
    this.model = sessionModel(conn);
  }

  /** Ensures the idempotency collection's TTL index (24 h); errors are ignored (best effort). */
  async init(): Promise<void> {
    try {
      await this.conn
        .collection('send_idempotency')
        .createIndex({ createdAt: 1 }, { expireAfterSeconds: 86_400 });
    } catch {
      // TTL indexes are an optimisation; old keys then simply stay.
    }
  }

  /** Every session a connector should hold live: status connected/disconnected with a secret. */
  async listLive(): Promise<LiveSessionRef[]> {
    const rows = await this.model
      .find(
        { status: { $in: RUNTIME }, sessionSecret: { $exists: true } },
        { _id: 1, tenantId: 1, agentId: 1 },
      )
      .lean();
    return rows.map((r) => ({ id: String(r._id), tenantId: r.tenantId, agentId: r.agentId }));
  }

  /** One session (with its sealed secret), or null. @throws on MongoDB errors */
  async load(id: string): Promise<SessionDoc | null> {
    return this.model.findOne({ _id: id }).lean<SessionDoc>();
  }

  /**
   * Sets connected/disconnected (with `lastActivityAt`, and `connectedAt` when
   * connected) unless auth has ended the session meanwhile. Merged with the
   * session's pending checkpoint into one update; resolves once written.
   * @throws on MongoDB errors
   */
  async setRuntimeStatus(id: string, status: RuntimeStatus): Promise<void> {
    await this.enqueue(id, (w) => (w.status = { status, at: new Date() }));
  }

  /** Marks a session expired (Telegram revoked it); the secret is kept. */
  async markExpired(id: string, reason: string): Promise<void> {
    await this.model.updateOne(
      { _id: id, status: { $in: RUNTIME } },
      { $set: { status: 'expired', endReason: reason, lastActivityAt: new Date() } },
    );
  }

  /**
   * Writes one session's checkpoint through the writer. `urgent` (a hand-off
   * or shutdown waiting to release the session's lease) goes before the
   * periodic checkpoints. @throws on MongoDB errors
   */
  async saveCheckpoint(item: StateCheckpoint, urgent = false): Promise<void> {
    await this.enqueue(item.id, (w) => (w.checkpoint = item), urgent);
  }

  /**
   * Writes update-state checkpoints through the writer; resolves when all are
   * written. @throws the first MongoDB error (the others may have been written)
   */
  async saveCheckpoints(items: StateCheckpoint[]): Promise<void> {
    await Promise.all(items.map((c) => this.saveCheckpoint(c)));
  }

  /**
   * Resolves once the writes queued for a session so far are written; moves
   * them ahead of the periodic ones. Resolves at once when none are queued.
   * @throws on MongoDB errors
   */
  async expedite(id: string): Promise<void> {
    const w = this.urgent.get(id) ?? this.pending.get(id) ?? this.inFlight.get(id);
    if (!w) return;
    await new Promise<void>((resolve, reject) => {
      w.waiters.push({ resolve, reject });
      if (!w.urgent && this.pending.get(id) === w) {
        w.urgent = true;
        this.pending.delete(id);
        this.urgent.set(id, w);
      }
    });
  }

  /** Sessions with writes waiting for the writer. */
  get pendingWrites(): number {
    return this.pending.size + this.urgent.size;
  }

  private enqueue(id: string, set: (w: PendingWrite) => void, urgent = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let w = this.urgent.get(id) ?? this.pending.get(id);
      if (!w) w = { urgent, waiters: [] };
      if (urgent && !w.urgent) {
        w.urgent = true;
        this.pending.delete(id);
      }
      (w.urgent ? this.urgent : this.pending).set(id, w);
      set(w);
      w.waiters.push({ resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /** The writer: one bulk write at a time until nothing is pending. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      for (;;) {
        const from = this.urgent.size > 0 ? this.urgent : this.pending;
        if (from.size === 0) break;
        const batch: Array<[string, PendingWrite]> = [];
        for (const e of from) {
          batch.push(e);
          if (batch.length >= BULK_CHUNK) break;
        }
        for (const [id] of batch) from.delete(id);
        this.inFlight = new Map(batch);
        try {
          await this.model.bulkWrite(
            batch.map(([id, w]) => ({ updateOne: update(id, w) })),
            { ordered: false },
          );
          for (const [, w] of batch) for (const x of w.waiters) x.resolve();
        } catch (e) {
          for (const [, w] of batch) for (const x of w.waiters) x.reject(e);
        }
      }
    } finally {
      this.inFlight = new Map();
      this.writing = false;
    }
  }

  /** An earlier send with this idempotency key, if any. */
  async findIdempotent(sessionId: string, key: string): Promise<IdempotentSend | undefined> {
    const doc = await this.conn
      .collection('send_idempotency')
      .findOne({ _id: `${sessionId}:${key}` as never });
    return doc
      ? { messageId: Number(doc.messageId), sentAt: new Date(doc.sentAt as Date) }
      : undefined;
  }

  /** Remembers a send made with an idempotency key. */
  async rememberIdempotent(sessionId: string, key: string, v: IdempotentSend): Promise<void> {
    await this.conn
      .collection('send_idempotency')
      .updateOne(
        { _id: `${sessionId}:${key}` as never },
        { $set: { messageId: v.messageId, sentAt: v.sentAt, createdAt: new Date() } },
        { upsert: true },
      );
  }
}

/** The `updateOne` of one session's merged writes (only while the session is connected/disconnected). */
function update(id: string, w: PendingWrite): { filter: object; update: object } {
  const set: Record<string, unknown> = {};
  if (w.checkpoint) {
    set.updateState = w.checkpoint.state;
    set.eventSequence = w.checkpoint.eventSequence;
    set.lastActivityAt = w.checkpoint.lastActivityAt;
    if (w.checkpoint.connectedAt) set.connectedAt = w.checkpoint.connectedAt;
  }
  if (w.status) {
    set.status = w.status.status;
    if (w.status.status === 'connected') set.connectedAt = w.status.at;
    const last = set.lastActivityAt as Date | undefined;
    if (!last || last < w.status.at) set.lastActivityAt = w.status.at;
  }
  return { filter: { _id: id, status: { $in: RUNTIME } }, update: { $set: set } };
}
