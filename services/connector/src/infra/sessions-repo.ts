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
}

/** A remembered idempotent send. */
export interface IdempotentSend {
  messageId: number;
  sentAt: Date;
}

const RUNTIME: SessionStatusName[] = ['connected', 'disconnected'];

/** Sessions repository. */
export class SessionsRepo {
  private readonly model: Model<SessionDoc>;

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

  /** One session (with its sealed secret), or null. */
  async load(id: string): Promise<SessionDoc | null> {
    return this.model.findById(id).lean<SessionDoc>();
  }

  /**
   * Sets connected/disconnected unless auth has ended the session meanwhile.
   * @returns false when the session is no longer in a runtime status
   */
  async setRuntimeStatus(
    id: string,
    status: 'connected' | 'disconnected',
    at = new Date(),
  ): Promise<boolean> {
    const set: Record<string, unknown> = { status, lastActivityAt: at };
    if (status === 'connected') set.connectedAt = at;
    const r = await this.model.updateOne({ _id: id, status: { $in: RUNTIME } }, { $set: set });
    return r.matchedCount > 0;
  }

  /** Marks a session expired (Telegram revoked it); the secret is kept. */
  async markExpired(id: string, reason: string): Promise<void> {
    await this.model.updateOne(
      { _id: id, status: { $in: RUNTIME } },
      { $set: { status: 'expired', endReason: reason, lastActivityAt: new Date() } },
    );
  }

  /** Writes update-state checkpoints (one bulk write). */
  async saveCheckpoints(items: StateCheckpoint[]): Promise<void> {
    if (items.length === 0) return;
    await this.model.bulkWrite(
      items.map((c) => ({
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
