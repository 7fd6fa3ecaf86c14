import { Schema, type Connection, type Model } from 'mongoose';

/**
 * Lifecycle of one agent login (DESIGN.md "State"):
 * pending → awaiting_code → awaiting_password → connected ⇄ disconnected,
 * and the terminal expired (Telegram revoked the key) and logged_out.
 */
export const SESSION_STATUSES = [
  'pending',
  'awaiting_code',
  'awaiting_password',
  'connected',
  'disconnected',
  'expired',
  'logged_out',
] as const;
export type SessionStatusName = (typeof SESSION_STATUSES)[number];

/** Statuses in which a connector shard should hold a live connection. */
export const LIVE_STATUSES: readonly SessionStatusName[] = ['connected', 'disconnected'];

/** The Telegram account a session is logged in as. Ids are decimal strings (64-bit). */
export interface TelegramUserDoc {
  id: string;
  phone?: string;
  firstName?: string;
  lastName?: string;
  username?: string;
}

/**
 * Update state of the account (https://core.telegram.org/api/updates), written by
 * the connector only after JetStream acknowledged every event up to it.
 * `channels` maps a channel id (decimal string) to its pts.
 */
export interface UpdateStateDoc {
  pts: number;
  qts: number;
  date: number;
  seq: number;
  channels: Record<string, number>;
}

/**
 * One agent login: the sessions collection. `_id` is the session_id (uuid v4)
 * returned to the CRM. Field ownership: auth writes tenantId..login and
 * sessionSecret; the connector writes updateState, eventSequence, lastActivityAt,
 * and toggles connected/disconnected/expired.
 */
export interface SessionDoc {
  _id: string;
  tenantId: string;
  agentId: string;
  status: SessionStatusName;
  /** Login method that created the session. */
  method: 'qr' | 'phone';
  /** Phone in E.164 (+989123456789), known after a phone login or once logged in. */
  phone?: string;
  telegramUser?: TelegramUserDoc;
  /** The MTProto session string (GramJS StringSession), sealed by @tgbridge/platform/crypto. Never logged. */
  sessionSecret?: string;
  /** Telegram DC id of the account's home DC. */
  dcId?: number;
  /** Auth-service state of an unfinished login (flow); removed once connected. */
  login?: Record<string, unknown>;
  /** When an unfinished login expires (seed 000: 300 s after start). */
  loginExpiresAt?: Date;
  updateState?: UpdateStateDoc;
  /** Per-session event sequence: the last `Event.sequence` published. */
  eventSequence: number;
  lastActivityAt?: Date;
  connectedAt?: Date;
  loggedOutAt?: Date;
  /** Why the session ended (e.g. AUTH_KEY_UNREGISTERED), for expired/logged_out. */
  endReason?: string;
  createdAt: Date;
  updatedAt: Date;
}

const telegramUserSchema = new Schema<TelegramUserDoc>(
  {
    id: { type: String, required: true },
    phone: String,
    firstName: String,
    lastName: String,
    username: String,
  },
  { _id: false },
);

const updateStateSchema = new Schema<UpdateStateDoc>(
  {
    pts: { type: Number, required: true },
    qts: { type: Number, required: true },
    date: { type: Number, required: true },
    seq: { type: Number, required: true },
    channels: { type: Schema.Types.Mixed, default: {} },
  },
  { _id: false },
);

/** Mongoose schema of the `sessions` collection. */
export const sessionSchema = new Schema<SessionDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    agentId: { type: String, required: true },
    status: { type: String, enum: SESSION_STATUSES, required: true },
    method: { type: String, enum: ['qr', 'phone'], required: true },
    phone: String,
    telegramUser: telegramUserSchema,
    sessionSecret: String,
    dcId: Number,
    login: Schema.Types.Mixed,
    loginExpiresAt: Date,
    updateState: updateStateSchema,
    eventSequence: { type: Number, default: 0 },
    lastActivityAt: Date,
    connectedAt: Date,
    loggedOutAt: Date,
    endReason: String,
  },
  { collection: 'sessions', timestamps: true, versionKey: false, minimize: false },
);
sessionSchema.index({ tenantId: 1, agentId: 1, status: 1 });
sessionSchema.index({ status: 1 });

/** The Session model bound to a mongoose connection (models are per connection). */
export function sessionModel(conn: Connection): Model<SessionDoc> {
  return (
    (conn.models.Session as Model<SessionDoc> | undefined) ??
    conn.model<SessionDoc>('Session', sessionSchema)
  );
}
