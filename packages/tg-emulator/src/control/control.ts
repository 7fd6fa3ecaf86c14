/**
 * The typed in-process control API: plays "the other side" of Telegram for
 * tests and the local stack (users, login codes, QR scans, messages from
 * other users, groups and channels, sessions, faults, counters). The HTTP
 * control API (`http.ts`) exposes the same operations as JSON.
 */
import { createHash } from 'node:crypto';
import type { ApiContext } from '../api/context.js';
import type { MtprotoServerApi, ServerCounters } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { Fault, FaultSpec } from '../api/faults.js';
import type { MediaRecord, PeerRef, StoredMessage, UserRecord } from '../world/types.js';
import { WorldError, normalizePhone } from '../world/users.js';
import * as actions from '../world/actions.js';
import { deliver } from '../api/push.js';
import { acceptToken } from '../api/qr.js';
import { logOutKey, revokeKey } from '../api/session.js';
import { makePasswordRecord } from '../api/srp.js';
import { imageSize } from '../api/media.js';
import type { ApiCounters } from '../api/context.js';
import {
  ControlError,
  type AuthKeyInfo,
  type CodeInfo,
  type ConnectionInfo,
  type MessageInfo,
  type SendMessageInput,
  type TargetRef,
  type UserInfo,
  type UserRef,
} from './types.js';

/** Input of {@link EmulatorControl.createUser}. */
export interface CreateUserInput {
  phone: string;
  firstName: string;
  lastName?: string;
  username?: string;
  /** 2FA password (the SRP verifier is computed once, ~100 ms). */
  password?: string;
  passwordHint?: string;
}

/** Counters of the MTProto server plus the API layer. */
export interface EmulatorCounters extends ServerCounters {
  api: ApiCounters;
  liveConnections: number;
  authKeys: number;
  users: number;
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WorldError) throw new ControlError(400, e.code, e.message);
    if (e instanceof RpcError) throw new ControlError(400, e.errorMessage, e.message);
    throw e;
  }
}

function toBytes(data: Buffer | string, field: string): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/=_-]*$/.test(data))
    throw new ControlError(400, 'BAD_REQUEST', `${field} must be base64`);
  return Buffer.from(data, 'base64');
}

/** The control API. All methods throw {@link ControlError} for bad input. */
export class EmulatorControl {
  constructor(
    private readonly ctx: ApiContext,
    private readonly server: () => MtprotoServerApi | undefined,
  ) {}

  /** Public view of a user record. */
  userInfo(u: UserRecord): UserInfo {
    const info: UserInfo = {
      id: u.id,
      accessHash: u.accessHash,
      phone: u.phone,
      firstName: u.firstName,
      hasPassword: !!u.password,
      deactivated: !!u.deactivated,
    };
    if (u.lastName) info.lastName = u.lastName;
    if (u.username) info.username = u.username;
    return info;
  }

  private user(ref: UserRef): UserRecord {
    const { users } = this.ctx.world;
    let u: UserRecord | undefined;
    if (typeof ref === 'number') u = users.get(ref);
    else if (typeof ref === 'string' && ref.startsWith('@')) u = users.byUserName(ref);
    else if (typeof ref === 'string' && /^\d+$/.test(ref) && users.get(Number(ref)))
      u = users.get(Number(ref));
    else if (typeof ref === 'string') u = users.byPhoneNumber(ref) ?? users.byUserName(ref);
    if (!u) throw new ControlError(404, 'USER_NOT_FOUND', `no user ${String(ref)}`);
    return u;
  }

  private target(ref: TargetRef): PeerRef {
    if (typeof ref === 'string') {
      const m = /^(user|chat|channel):(.+)$/.exec(ref);
      if (m)
        return m[1] === 'user'
          ? { type: 'user', id: this.user(m[2]!).id }
          : this.target({ [m[1]!]: Number(m[2]) } as TargetRef);
      return { type: 'user', id: this.user(ref).id };
    }
    if (ref && typeof ref === 'object') {
      if ('user' in ref) return { type: 'user', id: this.user(ref.user).id };
      if ('chat' in ref && Number.isInteger(ref.chat)) {
        if (!this.ctx.world.chats.chat(ref.chat))
          throw new ControlError(404, 'CHAT_NOT_FOUND', `no chat ${ref.chat}`);
        return { type: 'chat', id: ref.chat };
      }
      if ('channel' in ref && Number.isInteger(ref.channel)) {
        if (!this.ctx.world.chats.channel(ref.channel))
          throw new ControlError(404, 'CHANNEL_NOT_FOUND', `no channel ${ref.channel}`);
        return { type: 'channel', id: ref.channel };
      }
    }
    throw new ControlError(
      400,
      'BAD_REQUEST',
      'target must be {user}, {chat}, {channel} or "user:<ref>" / "chat:<id>" / "channel:<id>"',
    );
  }

  private messageInfo(m: StoredMessage, viewer: number): MessageInfo {
    const info: MessageInfo = {
      id: m.id,
      peer: { ...m.peer },
      fromId: m.fromId,
      out: m.fromId === viewer,
      date: m.date,
      text: m.text,
    };
    if (m.replyToId) info.replyToId = m.replyToId;
    if (m.editDate) info.editDate = m.editDate;
    if (m.action) info.action = m.action.type;
    if (m.media) {
      info.media = {
        kind: m.media.kind,
        id: m.media.id,
        mimeType: m.media.mimeType,
        size: m.media.size,
      };
      if (m.media.fileName) info.media.fileName = m.media.fileName;
    }
    return info;
  }

  /** Creates a user. Errors: 400 PHONE_NUMBER_INVALID, PHONE_NUMBER_OCCUPIED, USERNAME_INVALID, USERNAME_OCCUPIED, FIRSTNAME_INVALID. */
  createUser(input: CreateUserInput): UserInfo {
    if (!input || typeof input.phone !== 'string' || typeof input.firstName !== 'string')
      throw new ControlError(400, 'BAD_REQUEST', 'phone and firstName are required strings');
    if (input.password !== undefined && (typeof input.password !== 'string' || !input.password))
      throw new ControlError(400, 'BAD_REQUEST', 'password must be a non-empty string');
    const password = input.password
      ? makePasswordRecord(input.password, input.passwordHint)
      : undefined;
    const u = wrap(() =>
      this.ctx.world.users.create({
        phone: input.phone,
        firstName: input.firstName,
        lastName: input.lastName,
        username: input.username,
        password,
      }),
    );
    this.ctx.world.logs.account(u.id);
    this.ctx.world.touch();
    return this.userInfo(u);
  }

  /** Every user. */
  listUsers(): UserInfo[] {
    return this.ctx.world.users.all().map((u) => this.userInfo(u));
  }

  /** One user by id, phone or @username. Errors: 404 USER_NOT_FOUND. */
  getUser(ref: UserRef): UserInfo {
    return this.userInfo(this.user(ref));
  }

  /** Deactivates (or reactivates) an account: its keys get 401 USER_DEACTIVATED. */
  setDeactivated(ref: UserRef, deactivated = true): UserInfo {
    const u = this.user(ref);
    u.deactivated = deactivated;
    this.ctx.world.touch();
    return this.userInfo(u);
  }

  /** Adds `contact` to `ref`'s contact list (contacts.getContacts). */
  addContact(ref: UserRef, contact: UserRef): void {
    const u = this.user(ref);
    const c = this.user(contact);
    if (!u.contacts.includes(c.id)) u.contacts.push(c.id);
    this.ctx.world.touch();
  }

  /** Bans (or unbans) a phone number: auth.sendCode answers PHONE_NUMBER_BANNED. */
  banPhone(phone: string, banned = true): void {
    const p = normalizePhone(String(phone));
    if (!/^\d{5,15}$/.test(p))
      throw new ControlError(400, 'PHONE_NUMBER_INVALID', `invalid phone ${phone}`);
    if (banned) this.ctx.login.bannedPhones.add(p);
    else this.ctx.login.bannedPhones.delete(p);
    this.ctx.world.touch();
  }

  /** Whether unknown numbers may sign up (default false: PHONE_NUMBER_UNOCCUPIED). */
  setSignUpAllowed(allowed: boolean): void {
    this.ctx.login.signUpAllowed = !!allowed;
    this.ctx.world.touch();
  }

  /** The last login code sent to `phone`, or undefined. */
  lastCode(phone: string): CodeInfo | undefined {
    const c = this.ctx.login.lastCodes.get(normalizePhone(String(phone)));
    if (!c) return undefined;
    return {
      phone: c.phone,
      code: c.code || '(used for sign-up)',
      phoneCodeHash: c.phoneCodeHash,
      type: c.type,
      sentAt: c.sentAt,
      expiresAt: c.expiresAt,
    };
  }

  /**
   * "Scans" a QR login token (base64url as in the tg://login?token= link,
   * or base64, or bytes) as an existing user, like auth.acceptLoginToken.
   * Errors: 400 AUTH_TOKEN_INVALID, AUTH_TOKEN_EXPIRED, AUTH_TOKEN_ALREADY_ACCEPTED; 404 USER_NOT_FOUND.
   */
  acceptLoginToken(token: Buffer | string, ref: UserRef): { authKeyId: string; userId: number } {
    const u = this.user(ref);
    if (typeof token === 'string' && !/^[A-Za-z0-9+/=_-]+$/.test(token))
      throw new ControlError(400, 'AUTH_TOKEN_INVALID', 'token must be base64url');
    const bytes =
      typeof token === 'string'
        ? Buffer.from(token.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url')
        : token;
    const t = wrap(() => acceptToken(this.ctx, bytes, u.id));
    return { authKeyId: t.authKeyId, userId: u.id };
  }

  /** Sends a message (text, reply, photo or document) from a user, pushing updates to every recipient's live connections. */
  sendMessage(input: SendMessageInput): MessageInfo {
    if (!input || typeof input !== 'object')
      throw new ControlError(400, 'BAD_REQUEST', 'body must be an object');
    const from = this.user(input.from);
    const to = this.target(input.to);
    if (input.text !== undefined && typeof input.text !== 'string')
      throw new ControlError(400, 'BAD_REQUEST', 'text must be a string');
    if (input.replyTo !== undefined && !Number.isInteger(input.replyTo))
      throw new ControlError(400, 'BAD_REQUEST', 'replyTo must be an integer');
    let media: MediaRecord | undefined;
    if (input.photo) {
      const bytes = toBytes(input.photo.data, 'photo.data');
      const size = imageSize(bytes);
      media = this.ctx.world.files.addMedia('photo', bytes, {
        mimeType: input.photo.mimeType ?? 'image/jpeg',
        w: size?.w,
        h: size?.h,
      });
    } else if (input.document) {
      const bytes = toBytes(input.document.data, 'document.data');
      media = this.ctx.world.files.addMedia('document', bytes, {
        mimeType: input.document.mimeType ?? 'application/octet-stream',
        fileName: input.document.fileName,
      });
    }
    const r = wrap(() =>
      actions.sendMessage(this.ctx.world, {
        fromId: from.id,
        to,
        text: input.text ?? '',
        replyToId: input.replyTo,
        media,
      }),
    );
    deliver(this.ctx, r.events);
    return this.messageInfo(r.message, from.id);
  }

  /** Creates a basic group. */
  createGroup(input: { creator: UserRef; title: string; members?: UserRef[] }): { chatId: number } {
    const creator = this.user(input.creator);
    const members = (input.members ?? []).map((m) => this.user(m).id);
    if (typeof input.title !== 'string')
      throw new ControlError(400, 'BAD_REQUEST', 'title must be a string');
    const r = wrap(() => actions.createGroup(this.ctx.world, creator.id, input.title, members));
    deliver(this.ctx, r.events);
    return { chatId: r.chatId };
  }

  /** Creates a channel (megagroup false) or supergroup (megagroup true). */
  createChannel(input: {
    creator: UserRef;
    title: string;
    members?: UserRef[];
    megagroup?: boolean;
    username?: string;
  }): { channelId: number; accessHash: string } {
    const creator = this.user(input.creator);
    const members = (input.members ?? []).map((m) => this.user(m).id);
    if (typeof input.title !== 'string')
      throw new ControlError(400, 'BAD_REQUEST', 'title must be a string');
    const r = wrap(() =>
      actions.createChannel(
        this.ctx.world,
        creator.id,
        input.title,
        members,
        !!input.megagroup,
        input.username,
      ),
    );
    deliver(this.ctx, r.events);
    return {
      channelId: r.channelId,
      accessHash: this.ctx.world.chats.channel(r.channelId)!.accessHash,
    };
  }

  /** Adds users to a group or channel. */
  addMembers(input: { peer: TargetRef; users: UserRef[]; actor?: UserRef }): void {
    const peer = this.target(input.peer);
    if (!Array.isArray(input.users))
      throw new ControlError(400, 'BAD_REQUEST', 'users must be an array');
    const users = input.users.map((u) => this.user(u).id);
    const actor =
      input.actor !== undefined
        ? this.user(input.actor).id
        : peer.type === 'chat'
          ? this.ctx.world.chats.chat(peer.id)!.creatorId
          : (this.ctx.world.chats.channel(peer.id)?.creatorId ?? 0);
    const events = wrap(() => actions.addMembers(this.ctx.world, actor, peer, users));
    deliver(this.ctx, events);
  }

  /** Edits a message `user` sent (id in the user's view of `peer`). */
  editMessage(input: {
    user: UserRef;
    peer: TargetRef;
    messageId: number;
    text: string;
  }): MessageInfo {
    const u = this.user(input.user);
    const peer = this.target(input.peer);
    if (!Number.isInteger(input.messageId) || typeof input.text !== 'string')
      throw new ControlError(
        400,
        'BAD_REQUEST',
        'messageId (integer) and text (string) are required',
      );
    const r = wrap(() =>
      actions.editMessage(this.ctx.world, u.id, peer, input.messageId, input.text),
    );
    deliver(this.ctx, r.events);
    return this.messageInfo(r.message, u.id);
  }

  /** Deletes messages of `user` (ids in the user's view); for channels pass `peer`. `revoke` (default true) deletes for everyone. */
  deleteMessages(input: {
    user: UserRef;
    peer?: TargetRef;
    messageIds: number[];
    revoke?: boolean;
  }): { deleted: number } {
    const u = this.user(input.user);
    if (!Array.isArray(input.messageIds) || !input.messageIds.every((i) => Number.isInteger(i)))
      throw new ControlError(400, 'BAD_REQUEST', 'messageIds must be integers');
    const peer = input.peer !== undefined ? this.target(input.peer) : undefined;
    const r =
      peer?.type === 'channel'
        ? wrap(() => actions.deleteChannelMessages(this.ctx.world, u.id, peer.id, input.messageIds))
        : wrap(() =>
            actions.deleteMessages(this.ctx.world, u.id, input.messageIds, input.revoke ?? true),
          );
    deliver(this.ctx, r.events);
    return { deleted: r.ptsCount };
  }

  /** Messages `user` sent (newest last), optionally only to `peer`; at most `limit` (default 100) most recent. */
  sentMessages(ref: UserRef, opts: { peer?: TargetRef; limit?: number } = {}): MessageInfo[] {
    const u = this.user(ref);
    const peer = opts.peer !== undefined ? this.target(opts.peer) : undefined;
    const out: StoredMessage[] = [];
    if (!peer || peer.type !== 'channel')
      for (const m of this.ctx.world.messages.box(u.id).values())
        if (m.fromId === u.id && !m.action) out.push(m);
    const channels = peer
      ? peer.type === 'channel'
        ? [peer.id]
        : []
      : this.ctx.world.chats.channelsOf(u.id).map((c) => c.id);
    for (const id of channels)
      for (const m of this.ctx.world.messages.channelBox(id).values())
        if (m.fromId === u.id && !m.action) out.push(m);
    const filtered = peer
      ? out.filter((m) => m.peer.type === peer.type && m.peer.id === peer.id)
      : out;
    filtered.sort((a, b) => a.date - b.date || a.id - b.id);
    return filtered.slice(-(opts.limit ?? 100)).map((m) => this.messageInfo(m, u.id));
  }

  /** The dialog of `user` with `peer` (oldest first, at most `limit`, default 100 most recent). */
  history(ref: UserRef, peerRef: TargetRef, limit = 100): MessageInfo[] {
    const u = this.user(ref);
    const peer = this.target(peerRef);
    return this.ctx.world.messages
      .history(u.id, peer)
      .sort((a, b) => a.id - b.id)
      .slice(-limit)
      .map((m) => this.messageInfo(m, u.id));
  }

  /** Live connections, optionally of one user. */
  connections(ref?: UserRef): ConnectionInfo[] {
    const server = this.server();
    if (!server) return [];
    const userId = ref === undefined ? undefined : this.user(ref).id;
    return server.connections(userId).map((c) => {
      const info: ConnectionInfo = {
        id: c.id,
        remote: c.remote,
        receivesUpdates: c.receivesUpdates,
      };
      if (c.authKey) info.authKeyId = c.authKey.id;
      if (c.authKey?.userId !== undefined) info.userId = c.authKey.userId;
      if (c.sessionId) info.sessionId = c.sessionId;
      return info;
    });
  }

  /** Auth keys, optionally of one user. */
  authKeys(ref?: UserRef): AuthKeyInfo[] {
    const userId = ref === undefined ? undefined : this.user(ref).id;
    const conns = this.server()?.connections() ?? [];
    return this.ctx.authKeys
      .all()
      .filter((k) => userId === undefined || k.userId === userId)
      .map((k) => {
        const info: AuthKeyInfo = {
          id: k.id,
          createdAt: k.createdAt,
          liveConnections: conns.filter((c) => c.authKey?.id === k.id).length,
        };
        if (k.userId !== undefined) info.userId = k.userId;
        if (k.layer !== undefined) info.layer = k.layer;
        if (k.client) {
          info.deviceModel = k.client.deviceModel;
          info.appVersion = k.client.appVersion;
          info.apiId = k.client.apiId;
        }
        return info;
      });
  }

  /**
   * TEST-ONLY hook (benchmarks, fixtures): registers a 256-byte auth key as if
   * a DH exchange had created it, optionally already logged in as `user` (as
   * after auth.signIn). Lets a benchmark hold thousands of authorized
   * connections without thousands of DH exchanges; the client still speaks
   * real MTProto 2.0 with that key (its first message gets bad_server_salt).
   * Errors: 400 BAD_REQUEST (not 256 bytes), 409 AUTH_KEY_EXISTS, 404 USER_NOT_FOUND.
   */
  importAuthKey(input: { key: Buffer | string; user?: UserRef }): {
    authKeyId: string;
    userId?: number;
  } {
    const key = toBytes(input?.key, 'key');
    if (key.length !== 256) throw new ControlError(400, 'BAD_REQUEST', 'key must be 256 bytes');
    const user = input.user === undefined ? undefined : this.user(input.user);
    const id = createHash('sha1').update(key).digest().readBigInt64LE(12).toString();
    if (this.ctx.authKeys.get(id))
      throw new ControlError(409, 'AUTH_KEY_EXISTS', `auth key ${id} exists`);
    this.ctx.authKeys.add({
      id,
      key: Buffer.from(key),
      createdAt: Math.floor(Date.now() / 1000),
      ...(user ? { userId: user.id } : {}),
    });
    if (user) this.ctx.world.logs.account(user.id);
    return user ? { authKeyId: id, userId: user.id } : { authKeyId: id };
  }

  /**
   * Ends an authorization. `revoke` (default): the key's next call gets 401
   * SESSION_REVOKED (then AUTH_KEY_UNREGISTERED), as after a termination
   * from another device. `logout`: like auth.logOut, the key is deleted
   * (transport error -404). Errors: 404 AUTH_KEY_NOT_FOUND.
   */
  revokeAuthorization(authKeyId: string, mode: 'revoke' | 'logout' = 'revoke'): void {
    if (mode !== 'revoke' && mode !== 'logout')
      throw new ControlError(400, 'BAD_REQUEST', 'mode must be revoke or logout');
    const ok =
      mode === 'revoke'
        ? revokeKey(this.ctx, String(authKeyId))
        : logOutKey(this.ctx, String(authKeyId));
    if (!ok) throw new ControlError(404, 'AUTH_KEY_NOT_FOUND', `no auth key ${authKeyId}`);
  }

  /** Injects a Telegram-level fault (FLOOD_WAIT_X or any RPC error). Errors: 400 BAD_REQUEST. */
  injectFault(spec: FaultSpec & { user?: UserRef }): Fault {
    try {
      if (!spec || typeof spec !== 'object')
        throw new ControlError(400, 'BAD_REQUEST', 'fault must be an object');
      const { user, ...s } = spec;
      if (s.userId === undefined && user !== undefined) s.userId = this.user(user).id;
      return this.ctx.faults.add(s);
    } catch (e) {
      if (e instanceof ControlError) throw e;
      throw new ControlError(400, 'BAD_REQUEST', (e as Error).message);
    }
  }

  listFaults(): Fault[] {
    return this.ctx.faults.list();
  }

  /** Clears one fault or all; returns how many were removed. */
  clearFaults(id?: number): number {
    return this.ctx.faults.clear(id);
  }

  private requireServer(): MtprotoServerApi {
    const s = this.server();
    if (!s) throw new ControlError(409, 'NOT_RUNNING', 'MTProto server not running');
    return s;
  }

  /** Drops live connections (all, one user's, or one auth key's). Returns how many. */
  dropConnections(filter: { user?: UserRef; authKeyId?: string } = {}): number {
    const f: { userId?: number; authKeyId?: string } = {};
    if (filter.user !== undefined) f.userId = this.user(filter.user).id;
    if (filter.authKeyId !== undefined) f.authKeyId = String(filter.authKeyId);
    return this.requireServer().dropConnections(f);
  }

  /** Refuses new TCP connections for `seconds`. */
  refuseConnections(seconds: number): void {
    if (typeof seconds !== 'number' || !(seconds >= 0))
      throw new ControlError(400, 'BAD_REQUEST', 'seconds must be a non-negative number');
    this.requireServer().refuseConnectionsFor(seconds * 1000);
  }

  /** Adds `ms` latency to every outgoing packet (0 turns it off). */
  setLatency(ms: number): void {
    if (typeof ms !== 'number' || !(ms >= 0))
      throw new ControlError(400, 'BAD_REQUEST', 'ms must be a non-negative number');
    this.requireServer().setLatency(ms);
  }

  /** Counters of the MTProto server and the API layer. */
  counters(): EmulatorCounters {
    const server = this.server();
    const base: ServerCounters = server
      ? { ...server.counters }
      : {
          connectionsAccepted: 0,
          authKeysCreated: 0,
          authKeyDuplicated: 0,
          updatesPushed: 0,
          rpcCalls: 0,
        };
    return {
      ...base,
      api: JSON.parse(JSON.stringify(this.ctx.counters)) as ApiCounters,
      liveConnections: server?.connections().length ?? 0,
      authKeys: this.ctx.authKeys.all().length,
      users: this.ctx.world.users.all().length,
    };
  }
}
