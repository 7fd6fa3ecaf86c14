/**
 * Hand-written TL for the MTProto service layer where GramJS has no
 * serializer (it only parses these): rpc_result, msg_container, gzip_packed,
 * vectors and bools of rpc results.
 *
 * Source: https://core.telegram.org/mtproto/service_messages
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { RpcResultValue, TlObject } from '../rpc.js';

export const RPC_RESULT = 0xf35c6d01;
export const MSG_CONTAINER = 0x73f1f8dc;
export const GZIP_PACKED = 0x3072cfa1;
export const VECTOR = 0x1cb5c415;
export const BOOL_TRUE = 0x997275b5;
export const BOOL_FALSE = 0xbc799737;

/** Answers larger than this many bytes are sent gzip_packed. */
export const GZIP_THRESHOLD_BYTES = 512;

/** TL `bytes` encoding of `data`. */
export function tlBytes(data: Buffer): Buffer {
  const headerLen = data.length < 254 ? 1 : 4;
  const total = headerLen + data.length;
  const pad = (4 - (total % 4)) % 4;
  const out = Buffer.alloc(total + pad);
  if (headerLen === 1) out[0] = data.length;
  else {
    out[0] = 254;
    out.writeUIntLE(data.length, 1, 3);
  }
  data.copy(out, headerLen);
  return out;
}

/** Reads a TL `bytes` value at `offset`; returns the value and the offset after it. */
export function readTlBytes(buf: Buffer, offset: number): { value: Buffer; next: number } {
  let len = buf[offset]!;
  let start = offset + 1;
  if (len === 254) {
    len = buf.readUIntLE(offset + 1, 3);
    start = offset + 4;
  }
  const end = start + len;
  if (end > buf.length) throw new Error('TL bytes out of range');
  return { value: buf.subarray(start, end), next: end + ((4 - ((end - offset) % 4)) % 4) };
}

/** gzip_packed#3072cfa1 packed_data:bytes = Object. */
export function gzipPacked(body: Buffer): Buffer {
  const packed = tlBytes(gzipSync(body, { level: 6 }));
  const out = Buffer.allocUnsafe(4 + packed.length);
  out.writeUInt32LE(GZIP_PACKED, 0);
  packed.copy(out, 4);
  return out;
}

/** Gzips `body` when it is larger than {@link GZIP_THRESHOLD_BYTES} and packing makes it smaller. */
export function maybeGzip(body: Buffer): Buffer {
  if (body.length <= GZIP_THRESHOLD_BYTES) return body;
  const packed = gzipPacked(body);
  return packed.length < body.length ? packed : body;
}

/** Unpacks a gzip_packed object (`buf` starts at its constructor id). */
export function gunzipPacked(buf: Buffer): Buffer {
  return gunzipSync(readTlBytes(buf, 4).value);
}

/** rpc_result#f35c6d01 req_msg_id:long result:Object. */
export function rpcResult(reqMsgId: bigint, result: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + result.length);
  out.writeUInt32LE(RPC_RESULT, 0);
  out.writeBigInt64LE(reqMsgId, 4);
  result.copy(out, 12);
  return out;
}

/** Serializes what an ApiHandler returned (see {@link RpcResultValue}). */
export function serializeResult(value: RpcResultValue): Buffer {
  if (typeof value === 'boolean') {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(value ? BOOL_TRUE : BOOL_FALSE, 0);
    return b;
  }
  if (Array.isArray(value)) {
    const items = value.map((v: TlObject) => v.getBytes());
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32LE(VECTOR, 0);
    head.writeInt32LE(items.length, 4);
    return Buffer.concat([head, ...items]);
  }
  if ('vectorOfLong' in value) {
    const out = Buffer.allocUnsafe(8 + 8 * value.vectorOfLong.length);
    out.writeUInt32LE(VECTOR, 0);
    out.writeInt32LE(value.vectorOfLong.length, 4);
    value.vectorOfLong.forEach((v, i) => out.writeBigInt64LE(BigInt.asIntN(64, v), 8 + 8 * i));
    return out;
  }
  if ('vectorOfInt' in value) {
    const out = Buffer.allocUnsafe(8 + 4 * value.vectorOfInt.length);
    out.writeUInt32LE(VECTOR, 0);
    out.writeInt32LE(value.vectorOfInt.length, 4);
    value.vectorOfInt.forEach((v, i) => out.writeInt32LE(v, 8 + 4 * i));
    return out;
  }
  return value.getBytes();
}

/** One message inside a container or a packet. */
export interface RawMessage {
  msgId: bigint;
  seqNo: number;
  body: Buffer;
}

/**
 * msg_container#73f1f8dc messages:vector<message>; message = msg_id:long seqno:int bytes:int body.
 * @throws Error on malformed containers.
 */
export function parseContainer(buf: Buffer): RawMessage[] {
  const count = buf.readInt32LE(4);
  if (count < 0 || count > 1024) throw new Error('bad container size');
  const out: RawMessage[] = [];
  let off = 8;
  for (let i = 0; i < count; i++) {
    if (off + 16 > buf.length) throw new Error('container truncated');
    const msgId = buf.readBigInt64LE(off);
    const seqNo = buf.readInt32LE(off + 8);
    const len = buf.readInt32LE(off + 12);
    if (len < 0 || off + 16 + len > buf.length) throw new Error('container message out of range');
    out.push({ msgId, seqNo, body: buf.subarray(off + 16, off + 16 + len) });
    off += 16 + len;
  }
  return out;
}

/** Serializes messages into a msg_container body. */
export function container(messages: RawMessage[]): Buffer {
  let size = 8;
  for (const m of messages) size += 16 + m.body.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(MSG_CONTAINER, 0);
  out.writeInt32LE(messages.length, 4);
  let off = 8;
  for (const m of messages) {
    out.writeBigInt64LE(m.msgId, off);
    out.writeInt32LE(m.seqNo, off + 8);
    out.writeInt32LE(m.body.length, off + 12);
    m.body.copy(out, off + 16);
    off += 16 + m.body.length;
  }
  return out;
}
