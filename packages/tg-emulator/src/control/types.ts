/** JSON shapes of the control API (in-process and HTTP). */

/** A user reference: numeric id, phone (`+15550001` or digits) or `@username`. */
export type UserRef = number | string;

/**
 * A destination/dialog: `{ user }` (private chat), `{ chat }` (basic group id)
 * or `{ channel }` (channel/supergroup id). Also accepted as a string:
 * `user:<ref>`, `chat:<id>`, `channel:<id>`, `@username`, `+phone`.
 */
export type TargetRef = { user: UserRef } | { chat: number } | { channel: number } | string;

/** A user as listed by the control API. */
export interface UserInfo {
  id: number;
  accessHash: string;
  phone: string;
  firstName: string;
  lastName?: string;
  username?: string;
  hasPassword: boolean;
  deactivated: boolean;
}

/** Media attached to a message. */
export interface MediaInfo {
  kind: 'photo' | 'document';
  id: string;
  mimeType: string;
  fileName?: string;
  /** Bytes. */
  size: number;
}

/** A message as seen by one account. */
export interface MessageInfo {
  id: number;
  peer: { type: 'user' | 'chat' | 'channel'; id: number };
  fromId: number;
  out: boolean;
  /** Unix seconds. */
  date: number;
  text: string;
  replyToId?: number;
  editDate?: number;
  media?: MediaInfo;
  action?: string;
}

/** Input of EmulatorControl.sendMessage. */
export interface SendMessageInput {
  from: UserRef;
  to: TargetRef;
  text?: string;
  /** Message id in the sender's view of the dialog. */
  replyTo?: number;
  /** Photo bytes (Buffer, or base64 in JSON). */
  photo?: { data: Buffer | string; mimeType?: string };
  /** Document bytes (Buffer, or base64 in JSON). */
  document?: { data: Buffer | string; fileName?: string; mimeType?: string };
}

/** A live MTProto connection. */
export interface ConnectionInfo {
  id: number;
  remote: string;
  authKeyId?: string;
  userId?: number;
  sessionId?: string;
  receivesUpdates: boolean;
}

/** An auth key (authorization). */
export interface AuthKeyInfo {
  id: string;
  userId?: number;
  /** Unix seconds. */
  createdAt: number;
  layer?: number;
  deviceModel?: string;
  appVersion?: string;
  apiId?: number;
  liveConnections: number;
}

/** The last login code "delivered" to a phone. */
export interface CodeInfo {
  phone: string;
  code: string;
  phoneCodeHash: string;
  type: 'app' | 'sms' | 'call';
  /** ms since epoch. */
  sentAt: number;
  expiresAt: number;
}

/** Error of the control API; `status` is the HTTP status (400 bad input, 404 unknown). */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}
