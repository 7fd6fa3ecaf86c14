/**
 * MTProto transports over TCP: detection from the first bytes and framing in
 * both directions for TCP full, intermediate, padded intermediate and
 * abridged, each optionally wrapped in the obfuscation layer.
 *
 * Source: https://core.telegram.org/mtproto/mtproto-transports
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { parseObfuscatedHeader, type Obfuscation } from './obfuscation.js';

/** An inner framing. `full` is GramJS's default (ConnectionTCPFull). */
export type FramingKind = 'full' | 'intermediate' | 'padded' | 'abridged';

/** Largest packet accepted from a client, in bytes (Telegram's limit is about 1 MiB + overhead). */
export const MAX_PACKET_BYTES = 4 * 1024 * 1024;

/** Thrown for malformed framing; the connection must be closed. */
export class TransportError extends Error {}

/**
 * One direction-aware codec per TCP connection. Feed raw socket bytes into
 * {@link push}; complete packets come out through the `onPacket` callback.
 * {@link encode} frames (and obfuscates) a packet for sending.
 */
export class TransportCodec {
  /** Detected framing, undefined until enough bytes arrived. */
  framing: FramingKind | undefined;
  /** Obfuscation streams when the client used the obfuscated transport. */
  obfuscation: Obfuscation | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private recvSeq = 0;
  private sendSeq = 0;

  constructor(private readonly onPacket: (packet: Buffer) => void) {}

  /** Human-readable transport name for logs/listings, e.g. `obfuscated+abridged`. */
  get name(): string {
    return `${this.obfuscation ? 'obfuscated+' : ''}${this.framing ?? 'unknown'}`;
  }

  /**
   * Consumes socket bytes.
   * @throws TransportError on malformed framing or an unsupported protocol (e.g. HTTP).
   */
  push(chunk: Buffer): void {
    if (this.obfuscation) chunk = this.obfuscation.decrypt.update(chunk);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.framing === undefined && !this.detect()) return;
    this.drain();
  }

  /** Returns true once the framing is known (consuming the tag/header bytes). */
  private detect(): boolean {
    const b = this.buf;
    if (b.length < 1) return false;
    if (b[0] === 0xef) {
      this.framing = 'abridged';
      this.buf = b.subarray(1);
      return true;
    }
    if (b.length < 4) return false;
    const first = b.readUInt32LE(0);
    if (first === 0xeeeeeeee || first === 0xdddddddd) {
      this.framing = first === 0xeeeeeeee ? 'intermediate' : 'padded';
      this.buf = b.subarray(4);
      return true;
    }
    const head = b.subarray(0, 4).toString('latin1');
    if (head === 'POST' || head === 'GET ' || head === 'HEAD' || head === 'OPTI') {
      throw new TransportError('HTTP transport is not supported');
    }
    if (b.length < 8) return false;
    if (b.readUInt32LE(4) === 0) {
      // TCP full: length, then seqno 0 of the first packet.
      this.framing = 'full';
      return true;
    }
    if (b.length < 64) return false;
    const obf = parseObfuscatedHeader(b.subarray(0, 64));
    if (!obf) throw new TransportError('unknown transport (bad obfuscated header tag)');
    this.obfuscation = obf;
    this.framing = obf.framing;
    const rest = b.subarray(64);
    this.buf = rest.length ? obf.decrypt.update(rest) : rest;
    return true;
  }

  private drain(): void {
    for (;;) {
      const b = this.buf;
      let headerLen: number;
      let len: number;
      switch (this.framing) {
        case 'abridged': {
          if (b.length < 1) return;
          const l = b[0]! & 0x7f; // high bit = quick ack request
          if (l < 0x7f) {
            headerLen = 1;
            len = l * 4;
          } else {
            if (b.length < 4) return;
            headerLen = 4;
            len = b.readUIntLE(1, 3) * 4;
          }
          break;
        }
        case 'intermediate':
        case 'padded':
          if (b.length < 4) return;
          headerLen = 4;
          len = b.readUInt32LE(0) & 0x7fffffff;
          break;
        case 'full': {
          if (b.length < 4) return;
          const total = b.readInt32LE(0);
          if (total < 12 || total > MAX_PACKET_BYTES)
            throw new TransportError(`bad TCP full length ${total}`);
          if (b.length < total) return;
          const seq = b.readInt32LE(4);
          const crc = b.readUInt32LE(total - 4);
          if (crc32(b.subarray(0, total - 4)) !== crc)
            throw new TransportError('bad TCP full crc32');
          if (seq !== this.recvSeq)
            throw new TransportError(`bad TCP full seqno ${seq}, expected ${this.recvSeq}`);
          this.recvSeq++;
          const packet = b.subarray(8, total - 4);
          this.buf = b.subarray(total);
          this.onPacket(packet);
          continue;
        }
        default:
          return;
      }
      if (len > MAX_PACKET_BYTES) throw new TransportError(`packet too large: ${len}`);
      if (b.length < headerLen + len) return;
      const packet = b.subarray(headerLen, headerLen + len);
      this.buf = b.subarray(headerLen + len);
      this.onPacket(packet);
    }
  }

  /** Frames (and obfuscates) one outgoing packet; `payload` length must be a multiple of 4. */
  encode(payload: Buffer): Buffer {
    let out: Buffer;
    switch (this.framing) {
      case 'abridged': {
        const words = payload.length >> 2;
        if (words < 0x7f) {
          out = Buffer.allocUnsafe(1 + payload.length);
          out[0] = words;
          payload.copy(out, 1);
        } else {
          out = Buffer.allocUnsafe(4 + payload.length);
          out[0] = 0x7f;
          out.writeUIntLE(words, 1, 3);
          payload.copy(out, 4);
        }
        break;
      }
      case 'intermediate':
        out = Buffer.allocUnsafe(4 + payload.length);
        out.writeUInt32LE(payload.length, 0);
        payload.copy(out, 4);
        break;
      case 'padded': {
        const pad = randomBytes(1)[0]! & 0x0f;
        out = Buffer.allocUnsafe(4 + payload.length + pad);
        out.writeUInt32LE(payload.length + pad, 0);
        payload.copy(out, 4);
        if (pad) randomBytes(pad).copy(out, 4 + payload.length);
        break;
      }
      default: {
        const total = payload.length + 12;
        out = Buffer.allocUnsafe(total);
        out.writeInt32LE(total, 0);
        out.writeInt32LE(this.sendSeq++, 4);
        payload.copy(out, 8);
        out.writeUInt32LE(crc32(out.subarray(0, total - 4)), total - 4);
      }
    }
    return this.obfuscation ? this.obfuscation.encrypt.update(out) : out;
  }
}
