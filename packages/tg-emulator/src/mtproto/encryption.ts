/**
 * MTProto 2.0 message encryption: msg_key = middle 128 bits of
 * SHA256(substr(auth_key, 88 + x, 32) + plaintext + padding), AES-256-IGE
 * key/iv derived from msg_key and the auth key; x = 0 for client→server,
 * x = 8 for server→client. Padding 12..1024 bytes to a multiple of 16.
 *
 * Every function takes the direction `x`, so a client (e.g. the benchmark's
 * raw client) uses the same code with the other sign.
 *
 * Source: https://core.telegram.org/mtproto/description
 */
import { createHash, randomFillSync } from 'node:crypto';
import { igeDecrypt, igeEncrypt } from './ige.js';

/** Direction of a message: x = 0 client→server, x = 8 server→client. */
export type Direction = 0 | 8;
export const CLIENT_TO_SERVER: Direction = 0;
export const SERVER_TO_CLIENT: Direction = 8;

/** Pool of random bytes for message padding (one randomFillSync per 64 KiB instead of per message). */
const POOL_BYTES = 64 * 1024;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolPos = POOL_BYTES;
function randomPadding(target: Buffer, offset: number, len: number): void {
  if (poolPos + len > POOL_BYTES) {
    randomFillSync(pool);
    poolPos = 0;
  }
  pool.copy(target, offset, poolPos, poolPos + len);
  poolPos += len;
}

/** AES key and IV of one message (https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector). */
export function aesKeyIv(
  authKey: Buffer,
  msgKey: Buffer,
  x: Direction,
): { key: Buffer; iv: Buffer } {
  const a = createHash('sha256')
    .update(msgKey)
    .update(authKey.subarray(x, x + 36))
    .digest();
  const b = createHash('sha256')
    .update(authKey.subarray(40 + x, 76 + x))
    .update(msgKey)
    .digest();
  const key = Buffer.allocUnsafe(32);
  a.copy(key, 0, 0, 8);
  b.copy(key, 8, 8, 24);
  a.copy(key, 24, 24, 32);
  const iv = Buffer.allocUnsafe(32);
  b.copy(iv, 0, 0, 8);
  a.copy(iv, 8, 8, 24);
  b.copy(iv, 24, 24, 32);
  return { key, iv };
}

/**
 * Decrypts an encrypted packet (`packet` = auth_key_id(8) + msg_key(16) +
 * encrypted data) sent in direction `x`. Trailing bytes beyond a multiple of
 * 16 (padded intermediate transport) are ignored.
 * @returns the plaintext (salt, session_id, message, padding), or undefined
 *   when the msg_key does not match (tampered data or wrong key).
 */
export function decryptMessage(authKey: Buffer, packet: Buffer, x: Direction): Buffer | undefined {
  const encLen = (packet.length - 24) & ~15;
  if (encLen < 32) return undefined;
  const msgKey = packet.subarray(8, 24);
  const { key, iv } = aesKeyIv(authKey, msgKey, x);
  const plain = igeDecrypt(packet.subarray(24, 24 + encLen), key, iv);
  const check = createHash('sha256')
    .update(authKey.subarray(88 + x, 120 + x))
    .update(plain)
    .digest();
  if (!check.subarray(8, 24).equals(msgKey)) return undefined;
  return plain;
}

/**
 * Builds and encrypts one message sent in direction `x` in a single output
 * buffer: auth_key_id(8) + msg_key(16) + IGE(salt, session_id, msg_id,
 * seq_no, length, body, 12..27 random padding bytes).
 * @param authKeyId the 8-byte auth_key_id as sent on the wire.
 */
export function sealMessage(
  authKey: Buffer,
  authKeyId: Buffer,
  x: Direction,
  salt: bigint,
  sessionId: bigint,
  msgId: bigint,
  seqNo: number,
  body: Buffer,
): Buffer {
  const plainLen = 32 + body.length;
  const padLen = 12 + ((16 - ((plainLen + 12) % 16)) % 16);
  const data = Buffer.allocUnsafe(plainLen + padLen);
  data.writeBigInt64LE(salt, 0);
  data.writeBigInt64LE(sessionId, 8);
  data.writeBigInt64LE(msgId, 16);
  data.writeInt32LE(seqNo, 24);
  data.writeInt32LE(body.length, 28);
  body.copy(data, 32);
  randomPadding(data, plainLen, padLen);
  return encryptData(authKey, authKeyId, x, data);
}

/** Encrypts padded plaintext `data` (a multiple of 16 bytes) into auth_key_id + msg_key + ciphertext. */
function encryptData(authKey: Buffer, authKeyId: Buffer, x: Direction, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(24 + data.length);
  authKeyId.copy(out, 0, 0, 8);
  const full = createHash('sha256')
    .update(authKey.subarray(88 + x, 120 + x))
    .update(data)
    .digest();
  full.copy(out, 8, 8, 24);
  const { key, iv } = aesKeyIv(authKey, out.subarray(8, 24), x);
  igeEncrypt(data, key, iv, out, 24);
  return out;
}

/**
 * Encrypts a message sent in direction `x`. `plain` is salt(8) +
 * session_id(8) + msg_id(8) + seqno(4) + length(4) + body, without padding;
 * random padding (12..27 bytes, to a multiple of 16) is appended here.
 */
export function encryptMessage(
  authKey: Buffer,
  authKeyId: Buffer,
  plain: Buffer,
  x: Direction,
): Buffer {
  const padLen = 12 + ((16 - ((plain.length + 12) % 16)) % 16);
  const data = Buffer.allocUnsafe(plain.length + padLen);
  plain.copy(data, 0);
  randomPadding(data, plain.length, padLen);
  return encryptData(authKey, authKeyId, x, data);
}

/** Decrypts a client→server packet (see {@link decryptMessage}). */
export function decryptClientMessage(authKey: Buffer, packet: Buffer): Buffer | undefined {
  return decryptMessage(authKey, packet, CLIENT_TO_SERVER);
}

/** Encrypts a server→client message (see {@link encryptMessage}). */
export function encryptServerMessage(authKey: Buffer, authKeyId: Buffer, plain: Buffer): Buffer {
  return encryptMessage(authKey, authKeyId, plain, SERVER_TO_CLIENT);
}
