/**
 * Plain, JSON-serializable records of the emulated Telegram world. They are
 * rendered into GramJS `Api.*` objects per viewer by `src/api/tl.ts`.
 * Ids are JS numbers (Telegram ids fit in 53 bits); access hashes and other
 * 64-bit values are decimal strings.
 */

/** A peer as seen from one account: a user (private chat), a basic group or a channel/supergroup. */
export interface PeerRef {
  type: 'user' | 'chat' | 'channel';
  id: number;
}

/** 2FA password material (https://core.telegram.org/api/srp). Hex strings. */
export interface PasswordRecord {
  /** salt1 of the KDF (client part + server part; hex). */
  salt1: string;
  /** salt2 of the KDF (hex). */
  salt2: string;
  /** SRP generator, one of 3, 4, 5, 7. */
  g: number;
  /** Verifier v = g^x mod p, 256 bytes, hex. */
  v: string;
  hint?: string;
}

/** A Telegram user account. */
export interface UserRecord {
  id: number;
  /** access_hash (signed 64-bit, decimal). The same for every viewer (Telegram differs per viewer; no client relies on that). */
  accessHash: string;
  /** Digits only, no `+`. */
  phone: string;
  firstName: string;
  lastName?: string;
  username?: string;
  password?: PasswordRecord;
  /** `USER_DEACTIVATED` for every call of this account's keys. */
  deactivated?: boolean;
  /** Unix seconds. */
  createdAt: number;
  /** Ids of users in this account's contact list. */
  contacts: number[];
}

/** A basic group (`chat`). */
export interface ChatRecord {
  id: number;
  title: string;
  creatorId: number;
  members: number[];
  /** Unix seconds of creation. */
  date: number;
  version: number;
}

/** A channel or supergroup (`channel`). Messages live in the channel; ids are shared by all members. */
export interface ChannelRecord {
  id: number;
  accessHash: string;
  title: string;
  username?: string;
  /** true: supergroup; false: broadcast channel. */
  megagroup: boolean;
  creatorId: number;
  members: number[];
  date: number;
  /** The channel's own pts (https://core.telegram.org/api/updates). */
  pts: number;
  /** Last message id allocated. */
  lastMessageId: number;
}

/** A stored photo or document. The bytes live in the file store under `fileKey`. */
export interface MediaRecord {
  kind: 'photo' | 'document';
  /** Photo/document id (decimal string of a positive 63-bit number). */
  id: string;
  accessHash: string;
  /** Key into {@link FileStore}. */
  fileKey: string;
  mimeType: string;
  fileName?: string;
  /** Bytes. */
  size: number;
  /** Unix seconds. */
  date: number;
  /** Photo width/height in pixels (photos only). */
  w?: number;
  h?: number;
}

/**
 * A message in one account's box (private chats, basic groups) or in a
 * channel. `peer` is the dialog it belongs to from the owner's point of view
 * (for channel messages: the channel).
 */
export interface StoredMessage {
  id: number;
  peer: PeerRef;
  /** Sender's user id. */
  fromId: number;
  /** Unix seconds. */
  date: number;
  text: string;
  replyToId?: number;
  media?: MediaRecord;
  /** Unix seconds of the last edit. */
  editDate?: number;
  /** Client random_id (decimal) for de-duplication, on the sender's copy. */
  randomId?: string;
  /** Global id linking the box copies of one private/group message (0 for channel messages). */
  gid: number;
  /** Service action (group created, user added) instead of text; rendered as messageService. */
  action?:
    | { type: 'chatCreate'; title: string; users: number[] }
    | { type: 'chatAddUser'; users: number[] }
    | { type: 'channelCreate'; title: string };
}

/** One dialog of an account. */
export interface DialogRecord {
  peer: PeerRef;
  /** Highest incoming message id the account has read. */
  readInboxMaxId: number;
  /** Highest outgoing message id the other side has read. */
  readOutboxMaxId: number;
}

/** A common-box update as stored in an account's update log (rendered into `Update` on demand). */
export type StoredUpdate =
  | { t: 'new'; id: number }
  | { t: 'edit'; id: number }
  | { t: 'del'; ids: number[] }
  | { t: 'readIn'; peer: PeerRef; maxId: number; stillUnread: number }
  | { t: 'readOut'; peer: PeerRef; maxId: number };

/** One entry of an update log: the update moved pts from `pts - ptsCount` to `pts`. */
export interface LogEntry<U = StoredUpdate> {
  pts: number;
  ptsCount: number;
  /** Unix seconds. */
  date: number;
  u: U;
}

/** A channel update (https://core.telegram.org/api/updates, per-channel pts). */
export type StoredChannelUpdate =
  { t: 'new'; id: number } | { t: 'edit'; id: number } | { t: 'del'; ids: number[] };

/** Per-account update state and message box. */
export interface AccountRecord {
  userId: number;
  pts: number;
  qts: number;
  seq: number;
  /** Unix seconds of the last update. */
  date: number;
  /** Next message id in this account's box. */
  nextMessageId: number;
  /** Update log, oldest first; trimmed to the configured length. */
  log: LogEntry[];
}
