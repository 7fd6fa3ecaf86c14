/**
 * A lightweight raw MTProto 2.0 client for benchmarks: TCP abridged
 * transport, its own message encryption (client direction x = 0, through the
 * emulator's direction-parameterized `sealMessage` / `decryptMessage`), RPC
 * calls with bad_server_salt recovery, msg_container / gzip_packed parsing,
 * update counting and batched msgs_ack. It deliberately does NOT parse
 * updates with GramJS's TL reader: they are handed over as raw bytes, so
 * thousands of these clients fit in one process.
 *
 * Source: https://core.telegram.org/mtproto/description
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  CLIENT_TO_SERVER,
  SERVER_TO_CLIENT,
  decryptMessage,
  sealMessage,
} from '../../packages/tg-emulator/src/mtproto/encryption.js';
import { AbridgedFramer } from './abridged.js';

const RPC_RESULT = 0xf35c6d01;
const MSG_CONTAINER = 0x73f1f8dc;
const GZIP_PACKED = 0x3072cfa1;
const RPC_ERROR = 0x2144ca19;
const BAD_SERVER_SALT = 0xedab447b;
const NEW_SESSION_CREATED = 0x9ec20908;
const BAD_MSG_NOTIFICATION = 0xa7eff811;
const MSGS_ACK = 0x62d6b459;
const VECTOR = 0x1cb5c415;
/** Constructors of the `Updates` type a server pushes. */
const UPDATES_CTORS = new Set([
  0x74ae4240, // updates
  0x725b04c3, // updatesCombined
  0x78d4dec1, // updateShort
  0x313bc7f8, // updateShortMessage
  0x4d6deea5, // updateShortChatMessage
  0xe317af7e, // updatesTooLong
]);

/** An rpc_error answer. */
export class RawRpcError extends Error {
  constructor(
    readonly code: number,
    readonly errorMessage: string,
  ) {
    super(`${code} ${errorMessage}`);
  }
}

interface Pending {
  body: Buffer;
  resolve: (result: Buffer) => void;
  reject: (err: Error) => void;
}

/** Reads a TL string/bytes value at `off`. */
function readTlBytes(buf: Buffer, off: number): Buffer {
  let len = buf[off]!;
  let start = off + 1;
  if (len === 254) {
    len = buf.readUIntLE(off + 1, 3);
    start = off + 4;
  }
  return buf.subarray(start, start + len);
}

let lastMsgId = 0n;
/** Client msg_ids: ≈ unixtime·2^32, divisible by 4, process-wide monotonic. */
function nextMsgId(): bigint {
  const ms = Date.now();
  let id =
    (BigInt(Math.floor(ms / 1000)) << 32n) | (BigInt(Math.floor((ms % 1000) * 4294967)) & ~3n);
  if (id <= lastMsgId) id = lastMsgId + 4n;
  lastMsgId = id;
  return id;
}

/** The auth_key_id (lower 64 bits of SHA1(key)) as 8 wire bytes. */
export function authKeyIdOf(key: Buffer): Buffer {
  return createHash('sha1').update(key).digest().subarray(12, 20);
}

/** One raw MTProto connection. Create with {@link RawClient.connect}. */
export class RawClient {
  /** Updates (`Updates` constructors) received, including those inside containers. */
  updates = 0;
  /** Called with every pushed `Updates` body (after gzip unpacking). */
  onUpdate: ((body: Buffer) => void) | undefined;
  /** Set when the socket closed. */
  closed = false;
  private key: Buffer | undefined;
  private keyId: Buffer | undefined;
  private salt = 0n;
  private readonly sessionId = randomBytes(8).readBigInt64LE(0);
  private seq = 0;
  private readonly pending = new Map<bigint, Pending>();
  private acks: bigint[] = [];
  private plainWaiter: ((body: Buffer) => void) | undefined;
  private readonly framer: AbridgedFramer;

  private constructor(private readonly socket: Socket) {
    this.framer = new AbridgedFramer((p) => this.onPacket(p));
    socket.on('data', (c: Buffer) => this.framer.push(c));
    const fail = (): void => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
    };
    socket.on('close', fail);
    socket.on('error', fail);
  }

  /** Opens a TCP connection (127.0.0.1) and announces the abridged transport. */
  static connect(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true }, () => {
        s.off('error', reject);
        s.write(Buffer.from([0xef]));
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  /** Uses `key` (256 bytes) for the encrypted layer. */
  useKey(key: Buffer): void {
    this.key = key;
    this.keyId = authKeyIdOf(key);
  }

  /** Sets the server salt (e.g. the one derived at the end of a DH exchange). */
  useSalt(salt: bigint): void {
    this.salt = salt;
  }

  /** Sends an unencrypted message (DH exchange) and resolves with the answer's body. */
  plainCall(body: Buffer): Promise<Buffer> {
    const out = Buffer.alloc(20 + body.length);
    out.writeBigInt64LE(nextMsgId(), 8);
    out.writeInt32LE(body.length, 16);
    body.copy(out, 20);
    return new Promise((resolve, reject) => {
      this.plainWaiter = resolve;
      this.socket.once('close', () => reject(new Error('connection closed during handshake')));
      this.socket.write(this.framer.encode(out));
    });
  }

  /**
   * Sends a TL request (serialized body) and resolves with the raw result
   * (rpc_result payload, gzip unpacked). Rejects with {@link RawRpcError}.
   */
  call(body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const msgId = this.send(body, true);
      this.pending.set(msgId, { body, resolve, reject });
    });
  }

  /** Sends msgs_ack for everything received since the last flush (called by the bench's shared timer). */
  flushAcks(): void {
    if (this.acks.length === 0 || this.closed) return;
    const ids = this.acks;
    this.acks = [];
    const b = Buffer.allocUnsafe(12 + 8 * ids.length);
    b.writeUInt32LE(MSGS_ACK, 0);
    b.writeUInt32LE(VECTOR, 4);
    b.writeInt32LE(ids.length, 8);
    for (let i = 0; i < ids.length; i++) b.writeBigInt64LE(ids[i]!, 12 + 8 * i);
    this.send(b, false);
  }

  /** Closes the socket. */
  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private send(body: Buffer, content: boolean): bigint {
    const msgId = nextMsgId();
    const seqNo = content ? this.seq++ * 2 + 1 : this.seq * 2;
    const packet = sealMessage(
      this.key!,
      this.keyId!,
      CLIENT_TO_SERVER,
      this.salt,
      this.sessionId,
      msgId,
      seqNo,
      body,
    );
    this.socket.write(this.framer.encode(packet));
    return msgId;
  }

  private onPacket(packet: Buffer): void {
    if (packet.length === 4) {
      this.socket.destroy(new Error(`transport error ${packet.readInt32LE(0)}`));
      return;
    }
    if (packet.readBigInt64LE(0) === 0n) {
      const len = packet.readInt32LE(16);
      const w = this.plainWaiter;
      this.plainWaiter = undefined;
      w?.(packet.subarray(20, 20 + len));
      return;
    }
    const plain = decryptMessage(this.key!, packet, SERVER_TO_CLIENT);
    if (!plain) {
      this.socket.destroy(new Error('msg_key mismatch'));
      return;
    }
    const len = plain.readInt32LE(28);
    this.onMessage(plain.readBigInt64LE(16), plain.readInt32LE(24), plain.subarray(32, 32 + len));
  }

  private onMessage(msgId: bigint, seqNo: number, body: Buffer): void {
    if (seqNo & 1) this.acks.push(msgId);
    const ctor = body.readUInt32LE(0);
    if (ctor === MSG_CONTAINER) {
      const count = body.readInt32LE(4);
      let off = 8;
      for (let i = 0; i < count; i++) {
        const len = body.readInt32LE(off + 12);
        this.onMessage(
          body.readBigInt64LE(off),
          body.readInt32LE(off + 8),
          body.subarray(off + 16, off + 16 + len),
        );
        off += 16 + len;
      }
    } else if (ctor === GZIP_PACKED) {
      this.onMessage(msgId, 0, gunzipSync(readTlBytes(body, 4)));
    } else if (ctor === RPC_RESULT) {
      this.onRpcResult(body.readBigInt64LE(4), body.subarray(12));
    } else if (ctor === BAD_SERVER_SALT) {
      this.salt = body.readBigInt64LE(20);
      this.resend(body.readBigInt64LE(4));
    } else if (ctor === NEW_SESSION_CREATED) {
      this.salt = body.readBigInt64LE(20);
    } else if (ctor === BAD_MSG_NOTIFICATION) {
      const p = this.pending.get(body.readBigInt64LE(4));
      if (p) {
        this.pending.delete(body.readBigInt64LE(4));
        p.reject(new Error(`bad_msg_notification ${body.readInt32LE(16)}`));
      }
    } else if (UPDATES_CTORS.has(ctor)) {
      this.updates++;
      this.onUpdate?.(body);
    }
  }

  private onRpcResult(reqMsgId: bigint, result: Buffer): void {
    const p = this.pending.get(reqMsgId);
    if (!p) return;
    this.pending.delete(reqMsgId);
    let r = result;
    if (r.readUInt32LE(0) === GZIP_PACKED) r = gunzipSync(readTlBytes(r, 4));
    if (r.readUInt32LE(0) === RPC_ERROR) {
      p.reject(new RawRpcError(r.readInt32LE(4), readTlBytes(r, 8).toString('utf8')));
    } else p.resolve(r);
  }

  private resend(badMsgId: bigint): void {
    const p = this.pending.get(badMsgId);
    if (!p) return;
    this.pending.delete(badMsgId);
    this.pending.set(this.send(p.body, true), p);
  }
}
