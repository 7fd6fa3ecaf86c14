/**
 * Server-side MTProto session state (one per auth key + client session_id)
 * and the server salts of an auth key.
 *
 * Sources: https://core.telegram.org/mtproto/description#session,
 * https://core.telegram.org/mtproto/service_messages#request-for-several-future-salts
 */
import { randomBytes } from 'node:crypto';

/** How many recent client msg_ids a session remembers (duplicate detection, msgs_state_req). */
const RECENT_IDS = 512;
/** How many unacknowledged server content messages a session tracks before forgetting the oldest. */
const MAX_UNACKED = 1024;

/** What the server knows about one client message (for msgs_state_req). */
const enum Known {
  Received = 4,
  RpcDone = 32 | 64,
}

/** One MTProto session. Created on the first message with a new session_id. */
export class Session {
  /** Number of content-related messages the server sent in this session. */
  private sentContent = 0;
  /** Recent client msg_ids → state flags (insertion order = arrival order). */
  private readonly recent = new Map<bigint, number>();
  /** Highest client msg_id seen and its seqno (for bad seqno checks). */
  private maxMsgId = 0n;
  private maxSeqNo = -1;
  /** Server content messages not yet acknowledged by the client: msg_id → ms when sent. */
  readonly unacked = new Map<bigint, number>();
  /** True until new_session_created was sent. */
  fresh = true;
  /** Unix ms of the last message in this session (for sweeping idle sessions). */
  lastActive = Date.now();

  constructor(
    readonly authKeyId: string,
    /** The client's session_id. */
    readonly id: bigint,
  ) {}

  /** Session id as the decimal string ClientConnection exposes. */
  get idString(): string {
    return this.id.toString();
  }

  /** seqno for the next server message (odd and incremented for content-related ones). */
  nextSeqNo(contentRelated: boolean): number {
    if (contentRelated) return this.sentContent++ * 2 + 1;
    return this.sentContent * 2;
  }

  /** Remembers a server content message until acknowledged. */
  trackSent(msgId: bigint): void {
    this.unacked.set(msgId, Date.now());
    if (this.unacked.size > MAX_UNACKED) {
      const oldest = this.unacked.keys().next().value;
      if (oldest !== undefined) this.unacked.delete(oldest);
    }
  }

  /** Applies msgs_ack. Returns how many tracked messages it acknowledged. */
  ack(msgIds: bigint[]): number {
    let n = 0;
    for (const id of msgIds) if (this.unacked.delete(id)) n++;
    return n;
  }

  /** True when the msg_id was already received in this session (a duplicate to ignore). */
  isDuplicate(msgId: bigint): boolean {
    return this.recent.has(msgId);
  }

  /**
   * Checks the seqno of a new client message against earlier ones and
   * records it. Returns 0 when fine, or the bad_msg_notification code:
   * 32 too low, 33 too high, 34 even seqno for a content-related message,
   * 35 odd seqno for a non-content-related one.
   */
  accept(msgId: bigint, seqNo: number, contentRelated: boolean): 0 | 32 | 33 | 34 | 35 {
    if (contentRelated && seqNo % 2 === 0) return 34;
    if (!contentRelated && seqNo % 2 === 1) return 35;
    if (msgId > this.maxMsgId) {
      if (
        this.maxSeqNo >= 0 &&
        (seqNo < this.maxSeqNo || (seqNo === this.maxSeqNo && contentRelated))
      )
        return 32;
      this.maxMsgId = msgId;
      this.maxSeqNo = seqNo;
    } else if (seqNo > this.maxSeqNo) {
      return 33;
    }
    this.recent.set(msgId, Known.Received);
    if (this.recent.size > RECENT_IDS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.lastActive = Date.now();
    return 0;
  }

  /** Marks an RPC as answered (for msgs_state_req). */
  markAnswered(msgId: bigint): void {
    if (this.recent.has(msgId)) this.recent.set(msgId, Known.Received | Known.RpcDone);
  }

  /**
   * State byte for msgs_state_req (https://core.telegram.org/mtproto/service_messages_about_messages#request-for-message-status):
   * 1 unknown (too old), 2 not received, 3 not received (too new), 4 received (+32+64 when answered).
   */
  stateOf(msgId: bigint): number {
    const known = this.recent.get(msgId);
    if (known !== undefined) return known;
    if (msgId > this.maxMsgId) return 3;
    const oldest = this.recent.keys().next().value;
    if (oldest === undefined || msgId < oldest) return 1;
    return 2;
  }
}

/** Salt validity period in seconds. */
export const SALT_PERIOD_S = 3600;
/** Grace period after a salt expired during which it is still accepted, seconds (spec: 1800). */
export const SALT_GRACE_S = 1800;

/** One server salt with its validity window (unix seconds). */
export interface ServerSalt {
  validSince: number;
  validUntil: number;
  salt: bigint;
}

/** Server salts of every auth key, in memory (clients recover with bad_server_salt after a restart). */
export class SaltStore {
  private readonly salts = new Map<string, ServerSalt[]>();

  /** Adds the initial salt from the DH exchange (valid for the current period). */
  addInitial(authKeyId: string, salt: bigint): void {
    const now = Math.floor(Date.now() / 1000);
    this.salts.set(authKeyId, [{ validSince: now, validUntil: now + SALT_PERIOD_S, salt }]);
  }

  /** At least `count` salts from now on, generating the missing ones (1..64). */
  future(authKeyId: string, count: number): ServerSalt[] {
    const now = Math.floor(Date.now() / 1000);
    let list = (this.salts.get(authKeyId) ?? []).filter((s) => s.validUntil + SALT_GRACE_S > now);
    if (list.length === 0 || list[list.length - 1]!.validUntil <= now) list = [];
    while (list.filter((s) => s.validUntil > now).length < count) {
      const since = list.length ? list[list.length - 1]!.validUntil : now;
      list.push({
        validSince: since,
        validUntil: since + SALT_PERIOD_S,
        salt: randomBytes(8).readBigInt64LE(0),
      });
    }
    this.salts.set(authKeyId, list);
    return list.filter((s) => s.validUntil > now).slice(0, count);
  }

  private readonly currentCache = new Map<string, ServerSalt>();

  /** The salt to use now (creating one when needed). */
  current(authKeyId: string): bigint {
    const cached = this.currentCache.get(authKeyId);
    const now = Math.floor(Date.now() / 1000);
    if (cached && cached.validSince <= now && now < cached.validUntil) return cached.salt;
    const s = this.future(authKeyId, 1)[0]!;
    this.currentCache.set(authKeyId, s);
    return s.salt;
  }

  /** Whether `salt` is acceptable now (current, or expired less than {@link SALT_GRACE_S} ago). */
  isValid(authKeyId: string, salt: bigint): boolean {
    const now = Math.floor(Date.now() / 1000);
    const list = this.salts.get(authKeyId);
    if (!list) return false;
    for (const s of list)
      if (s.salt === salt && s.validSince <= now + 1 && now < s.validUntil + SALT_GRACE_S)
        return true;
    return false;
  }

  /** Forgets an auth key's salts. */
  delete(authKeyId: string): void {
    this.salts.delete(authKeyId);
    this.currentCache.delete(authKeyId);
  }
}
