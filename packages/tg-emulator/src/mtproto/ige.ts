/**
 * AES-256-IGE (Infinite Garble Extension), the block mode MTProto uses for
 * encrypted messages and for the DH exchange. Built on Node's native
 * AES-256-ECB (one `update` per 16-byte block), no pure-JS cipher.
 *
 * Source: https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * Encrypts `plain` (length a multiple of 16 bytes) with a 32-byte key and a
 * 32-byte IV (iv1 = first 16 bytes, iv2 = last 16 bytes).
 * @throws Error when the length is not a multiple of 16.
 */
export function igeEncrypt(plain: Buffer, key: Buffer, iv: Buffer): Buffer {
  if (plain.length % 16 !== 0)
    throw new Error(`IGE: length ${plain.length} is not a multiple of 16`);
  const cipher = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.allocUnsafe(plain.length);
  const x = Buffer.allocUnsafe(16);
  let prevC = iv.subarray(0, 16); // c_{i-1}
  let prevP = iv.subarray(16, 32); // p_{i-1}
  for (let off = 0; off < plain.length; off += 16) {
    for (let j = 0; j < 16; j++) x[j] = plain[off + j]! ^ prevC[j]!;
    const e = cipher.update(x);
    for (let j = 0; j < 16; j++) out[off + j] = e[j]! ^ prevP[j]!;
    prevC = out.subarray(off, off + 16);
    prevP = plain.subarray(off, off + 16);
  }
  return out;
}

/**
 * Decrypts `cipherText` (length a multiple of 16 bytes) with a 32-byte key
 * and 32-byte IV.
 * @throws Error when the length is not a multiple of 16.
 */
export function igeDecrypt(cipherText: Buffer, key: Buffer, iv: Buffer): Buffer {
  if (cipherText.length % 16 !== 0)
    throw new Error(`IGE: length ${cipherText.length} is not a multiple of 16`);
  const decipher = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.allocUnsafe(cipherText.length);
  const x = Buffer.allocUnsafe(16);
  let prevC = iv.subarray(0, 16);
  let prevP = iv.subarray(16, 32);
  for (let off = 0; off < cipherText.length; off += 16) {
    for (let j = 0; j < 16; j++) x[j] = cipherText[off + j]! ^ prevP[j]!;
    const d = decipher.update(x);
    for (let j = 0; j < 16; j++) out[off + j] = d[j]! ^ prevC[j]!;
    prevC = cipherText.subarray(off, off + 16);
    prevP = out.subarray(off, off + 16);
  }
  return out;
}
