/**
 * One client TCP connection: transport framing, the unencrypted DH exchange,
 * and the encrypted MTProto 2.0 layer (sessions, salts, service messages,
 * containers, gzip, rpc_result / rpc_error, update pushes).
 *
 * Sources: https://core.telegram.org/mtproto/description,
 * https://core.telegram.org/mtproto/service_messages,
 * https://core.telegram.org/mtproto/service_messages_about_messages
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import bigInt from 'big-integer';
import { Api } from 'telegram';
import { BinaryReader } from 'telegram/extensions/index.js';
import {
  RpcError,
  type AuthKeyRecord,
  type ClientConnection,
  type RpcResultValue,
  type TlObject,
} from '../rpc.js';
import { buildConfig, buildNearestDc } from './config.js';
import { SERVER_TO_CLIENT, decryptClientMessage, sealMessage } from './encryption.js';
import { PreparedUpdates } from './prepared.js';
import { Handshake, HandshakeError } from './handshake.js';
import { checkClientMsgId, nextServerMsgId } from './message-ids.js';
import {
  GZIP_PACKED,
  MSG_CONTAINER,
  container,
  gunzipPacked,
  maybeGzip,
  parseContainer,
  rpcResult,
  serializeResult,
  VECTOR,
  type RawMessage,
} from './service-messages.js';
import type { Session } from './session.js';
import { TransportCodec, TransportError } from './transport.js';
import type { ConnectionHost } from './host.js';

const MSGS_ACK = 0x62d6b459;
/** Containers the server sends hold at most this many messages / bytes. */
const MAX_CONTAINER_MESSAGES = 100;
const MAX_CONTAINER_BYTES = 512 * 1024;
/** After a graceful close, the socket is destroyed this many ms later if the peer keeps it open. */
const CLOSE_GRACE_MS = 2000;

interface Outgoing extends RawMessage {
  session: Session;
}

/** Requests that never make a connection update-receiving (file transfers, config). */
function isPassiveRequest(q: { className?: string }): boolean {
  const name = q.className ?? '';
  return name.startsWith('upload.') || name === 'help.GetConfig' || name === 'help.GetNearestDc';
}

const toBig = (v: bigInt.BigInteger): bigint => BigInt(v.toString());
const toBigInteger = (v: bigint): bigInt.BigInteger => bigInt(v.toString());

/** A live client connection; implements {@link ClientConnection} for the API layer. */
export class MtprotoConnection implements ClientConnection {
  readonly remote: string;
  authKey: AuthKeyRecord | undefined;
  receivesUpdates = false;
  /** The session of the last message received (pushes go there). */
  session: Session | undefined;
  /** True once closed by either side (no longer live). */
  closed = false;
  /** Unix ms after which the connection is closed (ping_delay_disconnect), 0 = none. */
  pingDeadline = 0;
  private readonly codec: TransportCodec;
  private handshake: Handshake | undefined;
  private authKeyIdBuf: Buffer | undefined;
  private outbox: Outgoing[] = [];
  private flushScheduled = false;
  private writeNotBefore = 0;
  /** In-flight RPCs handed to the API handler: req msg_id → session. */
  private readonly pending = new Map<bigint, Session>();

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.codec = new TransportCodec((p) => this.onPacket(p));
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      try {
        this.codec.push(chunk);
      } catch (err) {
        this.host.log.warn(`conn ${this.id}: ${(err as Error).message}`);
        this.close();
      }
    });
    socket.on('end', () => this.markClosed());
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
  }

  get sessionId(): string | undefined {
    return this.session?.idString;
  }

  /** Transport name, e.g. `full` or `obfuscated+abridged`. */
  get transport(): string {
    return this.codec.name;
  }

  pushUpdates(updates: TlObject): void {
    if (this.closed || !this.receivesUpdates || !this.session) return;
    let body: Buffer;
    if (updates instanceof PreparedUpdates) {
      body = updates.wire;
      if (updates.gzipped) this.host.stats.gzipPacked++;
    } else body = this.gzip(updates.getBytes());
    this.enqueue(this.session, body, false, true);
    this.host.counters.updatesPushed++;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.markClosed();
    this.endSocket();
  }

  /** Marks the connection dead for every purpose (indexes, pushes, duplicate checks). */
  private markClosed(): void {
    if (this.closed) {
      if (!this.socket.destroyed && this.socket.readableEnded) this.socket.destroy();
      return;
    }
    this.closed = true;
    this.outbox = [];
    this.host.connectionClosed(this);
  }

  /** Half-closes after pending writes (respecting latency), then destroys. */
  private endSocket(): void {
    const delay = Math.max(0, this.writeNotBefore - Date.now());
    const end = (): void => {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    };
    if (delay > 0) setTimeout(end, delay).unref();
    else end();
  }

  /** Sends a transport error (e.g. -404) and closes. */
  transportError(code: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(code, 0);
    this.writePacket(b);
    this.host.stats.transportErrors++;
    this.markClosed();
    this.endSocket();
  }

  private writePacket(payload: Buffer): void {
    const framed = this.codec.encode(payload);
    const latency = this.host.latencyMs;
    if (latency <= 0 && this.writeNotBefore <= Date.now()) {
      this.socket.write(framed);
      return;
    }
    const at = Math.max(Date.now() + latency, this.writeNotBefore);
    this.writeNotBefore = at;
    setTimeout(() => {
      if (!this.socket.destroyed) this.socket.write(framed);
    }, at - Date.now());
  }

  // ---- incoming -------------------------------------------------------------

  private onPacket(packet: Buffer): void {
    if (this.closed) return;
    if (packet.length < 8) {
      this.close();
      return;
    }
    if (packet.readBigInt64LE(0) === 0n) this.onPlain(packet);
    else this.onEncrypted(packet);
  }

  private onPlain(packet: Buffer): void {
    try {
      if (packet.length < 20) throw new HandshakeError('short unencrypted message');
      const len = packet.readInt32LE(16);
      if (len < 4 || 20 + len > packet.length) throw new HandshakeError('bad unencrypted length');
      const obj = new BinaryReader(packet.subarray(20, 20 + len)).tgReadObject();
      this.handshake ??= new Handshake(this.host.handshakeContext, (k) =>
        this.host.authKeyCreated(k),
      );
      const answer = this.handshake.handle(obj).getBytes();
      const out = Buffer.allocUnsafe(20 + answer.length);
      out.writeBigInt64LE(0n, 0);
      out.writeBigInt64LE(nextServerMsgId(true), 8);
      out.writeInt32LE(answer.length, 16);
      answer.copy(out, 20);
      this.writePacket(out);
    } catch (err) {
      this.host.log.warn(`conn ${this.id}: handshake failed: ${(err as Error).message}`);
      this.close();
    }
  }

  private onEncrypted(packet: Buffer): void {
    const keyId = packet.readBigInt64LE(0).toString();
    const rec = this.host.authKeys.get(keyId);
    if (!rec) {
      this.transportError(-404);
      return;
    }
    if (this.authKey !== rec) {
      this.host.bindAuthKey(this, rec); // unindexes the previous key first
      this.authKey = rec;
      this.authKeyIdBuf = Buffer.from(packet.subarray(0, 8));
      this.receivesUpdates = false;
    }
    const plain = packet.length >= 56 ? decryptClientMessage(rec.key, packet) : undefined;
    if (!plain) {
      this.transportError(-404);
      return;
    }
    const salt = plain.readBigInt64LE(0);
    const sessionId = plain.readBigInt64LE(8);
    const msgId = plain.readBigInt64LE(16);
    const seqNo = plain.readInt32LE(24);
    const len = plain.readInt32LE(28);
    const padding = plain.length - 32 - len;
    if (len < 4 || len % 4 !== 0 || padding < 12 || padding > 1024) {
      this.close();
      return;
    }
    const body = plain.subarray(32, 32 + len);
    const session = this.host.session(rec.id, sessionId);
    this.session = session;
    const timeCheck = checkClientMsgId(msgId);
    if (timeCheck !== 0) {
      this.badMsg(session, msgId, seqNo, timeCheck);
      this.flush();
      return;
    }
    if (!this.host.salts.isValid(rec.id, salt)) {
      const bad = new Api.BadServerSalt({
        badMsgId: toBigInteger(msgId),
        badMsgSeqno: seqNo,
        errorCode: 48,
        newServerSalt: toBigInteger(this.host.salts.current(rec.id)),
      }).getBytes();
      this.enqueue(session, bad, true, false);
      this.host.stats.badServerSalts++;
      this.flush();
      return;
    }
    if (session.fresh) {
      session.fresh = false;
      const created = new Api.NewSessionCreated({
        firstMsgId: toBigInteger(msgId),
        uniqueId: toBigInteger(randomBytes(8).readBigInt64LE(0)),
        serverSalt: toBigInteger(this.host.salts.current(rec.id)),
      }).getBytes();
      this.enqueue(session, created, false, true);
    }
    try {
      this.processMessage(session, msgId, seqNo, body, true);
    } catch (err) {
      this.host.log.warn(`conn ${this.id}: bad message: ${(err as Error).message}`);
      this.close();
    }
  }

  private badMsg(session: Session, msgId: bigint, seqNo: number, code: number): void {
    const b = new Api.BadMsgNotification({
      badMsgId: toBigInteger(msgId),
      badMsgSeqno: seqNo,
      errorCode: code,
    }).getBytes();
    this.enqueue(session, b, true, false);
    this.host.stats.badMsgNotifications++;
  }

  private processMessage(
    session: Session,
    msgId: bigint,
    seqNo: number,
    body: Buffer,
    top: boolean,
  ): void {
    if (session.isDuplicate(msgId)) return;
    const ctor = body.readUInt32LE(0);
    const contentRelated = ctor !== MSG_CONTAINER && ctor !== MSGS_ACK;
    if (!top) {
      const t = checkClientMsgId(msgId);
      if (t !== 0) {
        this.badMsg(session, msgId, seqNo, t);
        return;
      }
    }
    const seqCheck = session.accept(msgId, seqNo, contentRelated);
    if (seqCheck !== 0) {
      this.badMsg(session, msgId, seqNo, seqCheck);
      return;
    }
    if (ctor === MSG_CONTAINER) {
      if (!top) return; // nested containers are not allowed
      for (const inner of parseContainer(body))
        this.processMessage(session, inner.msgId, inner.seqNo, inner.body, false);
      return;
    }
    this.dispatch(session, msgId, body);
  }

  private dispatch(session: Session, msgId: bigint, body: Buffer): void {
    const ctor = body.readUInt32LE(0);
    if (ctor === GZIP_PACKED) {
      this.dispatch(session, msgId, gunzipPacked(body));
      return;
    }
    if (ctor === MSGS_ACK && body.length >= 12 && body.readUInt32LE(4) === VECTOR) {
      // Hot path (every client acks every push): read the longs directly.
      const n = body.readInt32LE(8);
      if (n >= 0 && 12 + 8 * n <= body.length) {
        const ids = new Array<bigint>(n);
        for (let i = 0; i < n; i++) ids[i] = body.readBigInt64LE(12 + 8 * i);
        session.ack(ids);
        this.host.stats.acksReceived++;
        return;
      }
    }
    let obj: unknown;
    try {
      obj = new BinaryReader(body).tgReadObject();
    } catch {
      this.sendRpcError(session, msgId, 400, `INPUT_METHOD_INVALID_${body.readUInt32LE(0)}`);
      return;
    }
    if (obj instanceof Api.MsgsAck) {
      session.ack(obj.msgIds.map(toBig));
      this.host.stats.acksReceived++;
    } else if (obj instanceof Api.Ping || obj instanceof Api.PingDelayDisconnect) {
      if (obj instanceof Api.PingDelayDisconnect)
        this.host.setPingDeadline(this, Date.now() + obj.disconnectDelay * 1000);
      this.enqueue(
        session,
        new Api.Pong({ msgId: toBigInteger(msgId), pingId: obj.pingId }).getBytes(),
        true,
        true,
      );
    } else if (obj instanceof Api.DestroySession) {
      const target = toBig(obj.sessionId);
      const ok = target !== session.id && this.host.destroySession(session.authKeyId, target);
      const answer = ok
        ? new Api.DestroySessionOk({ sessionId: obj.sessionId })
        : new Api.DestroySessionNone({ sessionId: obj.sessionId });
      this.enqueue(session, answer.getBytes(), true, true);
    } else if (obj instanceof Api.GetFutureSalts) {
      const salts = this.host.salts.future(session.authKeyId, Math.min(64, Math.max(1, obj.num)));
      const answer = new Api.FutureSalts({
        reqMsgId: toBigInteger(msgId),
        now: Math.floor(Date.now() / 1000),
        salts: salts.map(
          (s) =>
            new Api.FutureSalt({
              validSince: s.validSince,
              validUntil: s.validUntil,
              salt: toBigInteger(s.salt),
            }),
        ),
      });
      this.enqueue(session, answer.getBytes(), true, true);
    } else if (obj instanceof Api.MsgsStateReq || obj instanceof Api.MsgResendReq) {
      const info = obj.msgIds.map((id) => String.fromCharCode(session.stateOf(toBig(id)))).join('');
      this.enqueue(
        session,
        new Api.MsgsStateInfo({ reqMsgId: toBigInteger(msgId), info }).getBytes(),
        true,
        true,
      );
    } else if (obj instanceof Api.RpcDropAnswer) {
      this.enqueue(session, rpcResult(msgId, new Api.RpcAnswerUnknown().getBytes()), true, true);
    } else if (obj instanceof Api.HttpWait) {
      // Only meaningful for the HTTP transport.
    } else if ((obj as { classType?: string })?.classType === 'request') {
      void this.rpc(session, msgId, obj as Api.AnyRequest);
    }
    // Anything else (msgs_all_info, msg_detailed_info, ...) needs no answer.
  }

  /** Unwraps invokeWithLayer/initConnection/invokeWithoutUpdates/invokeAfterMsg(s) and answers the request. */
  private async rpc(session: Session, msgId: bigint, req: Api.AnyRequest): Promise<void> {
    const rec = this.authKey!;
    this.host.counters.rpcCalls++;
    let q: unknown = req;
    let withoutUpdates = false;
    let changed = false;
    for (;;) {
      if (q instanceof Api.InvokeWithLayer) {
        if (rec.layer !== q.layer) {
          rec.layer = q.layer;
          changed = true;
        }
        q = q.query;
      } else if (q instanceof Api.InitConnection) {
        const client = {
          apiId: q.apiId,
          deviceModel: q.deviceModel,
          systemVersion: q.systemVersion,
          appVersion: q.appVersion,
          langCode: q.langCode,
        };
        if (JSON.stringify(rec.client) !== JSON.stringify(client)) {
          rec.client = client;
          changed = true;
        }
        q = q.query;
      } else if (q instanceof Api.InvokeWithoutUpdates) {
        withoutUpdates = true;
        q = q.query;
      } else if (q instanceof Api.InvokeAfterMsg || q instanceof Api.InvokeAfterMsgs) {
        q = q.query;
      } else break;
    }
    if (changed) this.host.authKeys.changed();
    const request = q as Api.AnyRequest;

    const makesUpdates = !withoutUpdates && !isPassiveRequest(request);
    if (makesUpdates || this.receivesUpdates) {
      const others = this.host.otherUpdateConnections(this, rec.id);
      if (others.length > 0) {
        this.host.authKeyDuplicated(this, others);
        this.sendRpcError(session, msgId, 406, 'AUTH_KEY_DUPLICATED');
        this.close();
        for (const other of others) other.failPendingAndClose(406, 'AUTH_KEY_DUPLICATED');
        return;
      }
      if (makesUpdates && !this.receivesUpdates) {
        this.receivesUpdates = true;
        this.host.updatesEnabled(this);
      }
    }

    let result: RpcResultValue;
    if (request instanceof Api.help.GetConfig) result = buildConfig(this.host.dcAddress);
    else if (request instanceof Api.help.GetNearestDc) result = buildNearestDc(this.host.dcAddress);
    else {
      this.pending.set(msgId, session);
      try {
        result = await this.host.handler.handle({
          request,
          connection: this,
          authKey: rec,
          withoutUpdates,
        });
      } catch (err) {
        if (!this.pending.delete(msgId) || this.closed) return;
        if (err instanceof RpcError) this.sendRpcError(session, msgId, err.code, err.errorMessage);
        else {
          this.host.log.error(
            `conn ${this.id}: ${request.className} failed: ${(err as Error)?.stack ?? String(err)}`,
          );
          this.sendRpcError(session, msgId, 500, 'INTERNAL');
        }
        return;
      }
      if (!this.pending.delete(msgId) || this.closed) return;
    }
    let body: Buffer;
    try {
      body = serializeResult(result);
    } catch (err) {
      this.host.log.error(
        `conn ${this.id}: cannot serialize result of ${request.className}: ${(err as Error)?.stack ?? String(err)}`,
      );
      this.sendRpcError(session, msgId, 500, 'INTERNAL');
      return;
    }
    session.markAnswered(msgId);
    this.enqueue(session, rpcResult(msgId, this.gzip(body)), true, true);
  }

  private sendRpcError(session: Session, msgId: bigint, code: number, message: string): void {
    session.markAnswered(msgId);
    this.enqueue(
      session,
      rpcResult(msgId, new Api.RpcError({ errorCode: code, errorMessage: message }).getBytes()),
      true,
      true,
    );
  }

  /** Answers every in-flight RPC with an rpc_error and closes (used for AUTH_KEY_DUPLICATED). */
  failPendingAndClose(code: number, message: string): void {
    if (this.closed) return;
    for (const [msgId, session] of this.pending) this.sendRpcError(session, msgId, code, message);
    this.pending.clear();
    this.close();
  }

  // ---- outgoing -------------------------------------------------------------

  private gzip(body: Buffer): Buffer {
    const out = maybeGzip(body);
    if (out !== body) this.host.stats.gzipPacked++;
    return out;
  }

  private enqueue(session: Session, body: Buffer, response: boolean, content: boolean): void {
    if (this.closed) return;
    const msgId = nextServerMsgId(response);
    const seqNo = session.nextSeqNo(content);
    if (content) session.trackSent(msgId);
    this.outbox.push({ session, msgId, seqNo, body });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.host.scheduleFlush(this);
    }
  }

  /**
   * Encrypts and writes everything queued (one packet per message, or
   * containers). Called by the server's shared flush (one setImmediate for
   * all connections with queued messages) or directly.
   */
  flush(): void {
    this.flushScheduled = false;
    const out = this.outbox;
    if (out.length === 0 || !this.authKey || !this.authKeyIdBuf) return;
    this.outbox = [];
    const corked = out.length > 1 && this.host.latencyMs <= 0;
    if (corked) this.socket.cork();
    try {
      this.flushMessages(out);
    } finally {
      if (corked) this.socket.uncork();
    }
  }

  private flushMessages(out: Outgoing[]): void {
    let i = 0;
    while (i < out.length) {
      const session = out[i]!.session;
      let j = i;
      let bytes = 0;
      while (
        j < out.length &&
        out[j]!.session === session &&
        j - i < MAX_CONTAINER_MESSAGES &&
        (j === i || bytes + out[j]!.body.length + 16 <= MAX_CONTAINER_BYTES)
      ) {
        bytes += out[j]!.body.length + 16;
        j++;
      }
      if (j - i === 1) this.sendEncrypted(session, out[i]!);
      else {
        const inner = out.slice(i, j);
        const body = container(inner);
        this.sendEncrypted(session, {
          session,
          msgId: nextServerMsgId(true),
          seqNo: session.nextSeqNo(false),
          body,
        });
      }
      i = j;
    }
  }

  private sendEncrypted(session: Session, m: Outgoing): void {
    this.writePacket(
      sealMessage(
        this.authKey!.key,
        this.authKeyIdBuf!,
        SERVER_TO_CLIENT,
        this.host.salts.current(session.authKeyId),
        session.id,
        m.msgId,
        m.seqNo,
        m.body,
      ),
    );
  }
}

export { TransportError };
