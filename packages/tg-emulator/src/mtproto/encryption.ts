/**
 * MTProto 2.0 message encryption: msg_key = middle 128 bits of
 * SHA256(substr(auth_key, 88 + x, 32) + plaintext + padding), AES-256-IGE
 * key/iv derived from msg_key and the auth key; x = 0 for client→server,
 * x = 8 for server→client. Padding 12..1024 bytes to a multiple of 16.
 *
 * Source: https://core.telegram.org/mtproto/description
 */
import { createHash, randomFillSync } from 'node:crypto';
import { igeDecrypt, igeEncrypt } from './ige.js';

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

function aesKeyIv(authKey: Buffer, msgKey: Buffer, x: number): { key: Buffer; iv: Buffer } {
  const a = createHash('sha256')
    .update(msgKey)
    .update(authKey.subarray(x, x + 36))
    .digest();
  const b = createHash('sha256')
    .update(authKey.subarray(40 + x, 76 + x))
    .update(msgKey)
    .digest();
  const key = Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]);
  const iv = Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]);
  return { key, iv };
}

/**
 * Decrypts an encrypted packet from a client (`packet` = auth_key_id(8) +
 * msg_key(16) + encrypted data). Trailing bytes beyond a multiple of 16
 * (padded intermediate transport) are ignored.
 * @returns the plaintext (salt, session_id, message, padding), or undefined
 *   when the msg_key does not match (tampered data or wrong key).
 */
export function decryptClientMessage(authKey: Buffer, packet: Buffer): Buffer | undefined {
  const encLen = (packet.length - 24) & ~15;
  if (encLen < 32) return undefined;
  const msgKey = packet.subarray(8, 24);
  const { key, iv } = aesKeyIv(authKey, msgKey, 0);
  const plain = igeDecrypt(packet.subarray(24, 24 + encLen), key, iv);
  const check = createHash('sha256').update(authKey.subarray(88, 120)).update(plain).digest();
  if (!check.subarray(8, 24).equals(msgKey)) return undefined;
  return plain;
}

/**
 * Encrypts a server→client message. `plain` is salt(8) + session_id(8) +
 * msg_id(8) + seqno(4) + length(4) + body, without padding; random padding
 * (12..27 bytes, to a multiple of 16) is appended here.
 * @param authKeyId the 8-byte auth_key_id as sent on the wire.
 */
export function encryptServerMessage(authKey: Buffer, authKeyId: Buffer, plain: Buffer): Buffer {
  const padLen = 12 + ((16 - ((plain.length + 12) % 16)) % 16);
  const data = Buffer.allocUnsafe(plain.length + padLen);
  plain.copy(data, 0);
  randomPadding(data, plain.length, padLen);
  const msgKey = createHash('sha256')
    .update(authKey.subarray(96, 128))
    .update(data)
    .digest()
    .subarray(8, 24);
  const { key, iv } = aesKeyIv(authKey, msgKey, 8);
  return Buffer.concat([authKeyId, msgKey, igeEncrypt(data, key, iv)]);
}
