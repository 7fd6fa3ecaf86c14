/**
 * The connector's access to the `sessions` collection (@tgbridge/sessions)
 * and its own `send_idempotency` collection. Only runtime fields are written
 * (status connected/disconnected/expired, updateState, eventSequence,
 * lastActivityAt, connectedAt, endReason). Queries stay within the subset
 * FerretDB serves.
 */
import type { Connection, Model } from 'mongoose';
import { Batcher } from './batcher.js';
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

/** Sessions repository. */
export class SessionsRepo {
  private readonly model: Model<SessionDoc>;
  private readonly loads: Batcher<string, SessionDoc | null>;
  private readonly statusWrites: Batcher<{ id: string; status: RuntimeStatus }, undefined>;
  private readonly checkpoints: Batcher<StateCheckpoint, undefined>;

  /** @param batchDelayMs how long single reads/status writes wait to be batched with others */
  constructor(
    private readonly conn: Connection,
    batchDelayMs = 20,
  ) {
    this.model = sessionModel(conn);
    this.loads = new Batcher((ids) => this.loadMany(ids), { maxBatch: 200, delayMs: batchDelayMs });
    this.statusWrites = new Batcher((items) => this.writeStatuses(items), {
      maxBatch: 500,
      delayMs: batchDelayMs * 5,
    });
    this.checkpoints = new Batcher(
      async (items) => {
        await this.saveCheckpoints(items);
        return items.map(() => undefined);
      },
      { maxBatch: 500, delayMs: batchDelayMs },
    );
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

  /** One session (with its sealed secret), or null. Batched with concurrent loads (one `$in` query). */
  async load(id: string): Promise<SessionDoc | null> {
    return this.loads.add(id);
  }

  private async loadMany(ids: string[]): Promise<Array<SessionDoc | null>> {
    const rows = await this.model.find({ _id: { $in: ids } }).lean<SessionDoc[]>();
    const byId = new Map(rows.map((r) => [String(r._id), r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /**
   * Sets connected/disconnected (with `lastActivityAt`, and `connectedAt` when
   * connected) unless auth has ended the session meanwhile. Batched with
   * concurrent writes (one `updateMany` per status).
   */
  async setRuntimeStatus(id: string, status: RuntimeStatus): Promise<void> {
    await this.statusWrites.add({ id, status });
  }

  private async writeStatuses(
    items: Array<{ id: string; status: RuntimeStatus }>,
  ): Promise<undefined[]> {
    const at = new Date();
    const last = new Map(items.map((i) => [i.id, i.status]));
    for (const status of ['connected', 'disconnected'] as const) {
      const ids = [...last].filter(([, s]) => s === status).map(([id]) => id);
      if (ids.length === 0) continue;
      const set: Record<string, unknown> = { status, lastActivityAt: at };
      if (status === 'connected') set.connectedAt = at;
      await this.model.updateMany({ _id: { $in: ids }, status: { $in: RUNTIME } }, { $set: set });
    }
    return items.map(() => undefined);
  }

  /** Marks a session expired (Telegram revoked it); the secret is kept. */
  async markExpired(id: string, reason: string): Promise<void> {
    await this.model.updateOne(
      { _id: id, status: { $in: RUNTIME } },
      { $set: { status: 'expired', endReason: reason, lastActivityAt: new Date() } },
    );
  }

  /** Writes one session's checkpoint, batched with concurrent ones (hand-offs, shutdown). */
  async saveCheckpoint(item: StateCheckpoint): Promise<void> {
    await this.checkpoints.add(item);
  }

  /**
   * Writes update-state checkpoints: bulk writes of at most
   * {@link BULK_CHUNK} updates each, one after the other.
   */
  async saveCheckpoints(items: StateCheckpoint[]): Promise<void> {
    for (let i = 0; i < items.length; i += BULK_CHUNK) {
      await this.model.bulkWrite(
        items.slice(i, i + BULK_CHUNK).map((c) => ({
          updateOne: {
            filter: { _id: c.id },
            update: {
              $set: {
                updateState: c.state,
                eventSequence: c.eventSequence,
                lastActivityAt: c.lastActivityAt,
              },
            },
          },
        })),
        { ordered: false },
      );
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
