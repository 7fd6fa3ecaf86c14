/**
 * AES-256-IGE (Infinite Garble Extension), the block mode MTProto uses for
 * encrypted messages and for the DH exchange. Built on Node's native AES, no
 * pure-JS cipher:
 *
 * - encryption runs as ONE native AES-256-CBC pass over a pre-whitened
 *   plaintext. With y_i = c_i ⊕ p_{i-1} the IGE recurrence
 *   c_i = E(p_i ⊕ c_{i-1}) ⊕ p_{i-1} becomes y_i = E(q_i ⊕ y_{i-1}), i.e. CBC
 *   over q_0 = p_0, q_1 = p_1 ⊕ iv2, q_i = p_i ⊕ p_{i-2}, with IV iv1; then
 *   c_i = y_i ⊕ p_{i-1} (p_{-1} = iv2). The plaintext is known up front, so
 *   both XOR passes are plain loops and OpenSSL does all the AES work at once;
 * - decryption chains through its own output, so it uses AES-256-ECB, one
 *   16-byte block per `update` (a native call per block).
 *
 * Source: https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

function checkLength(len: number): void {
  if (len % 16 !== 0) throw new Error(`IGE: length ${len} is not a multiple of 16`);
}

/**
 * Encrypts `plain` (length a multiple of 16 bytes) with a 32-byte key and a
 * 32-byte IV (iv1 = first 16 bytes, iv2 = last 16 bytes) into
 * `out[outOffset..]` (default: a new buffer), which is returned.
 * @throws Error when the length is not a multiple of 16.
 */
export function igeEncrypt(
  plain: Buffer,
  key: Buffer,
  iv: Buffer,
  out: Buffer = Buffer.allocUnsafe(plain.length),
  outOffset = 0,
): Buffer {
  const n = plain.length;
  checkLength(n);
  if (n === 0) return out;
  const q = Buffer.allocUnsafe(n);
  plain.copy(q, 0, 0, 16);
  if (n > 16) for (let j = 0; j < 16; j++) q[16 + j] = plain[16 + j]! ^ iv[16 + j]!;
  for (let i = 32; i < n; i++) q[i] = plain[i]! ^ plain[i - 32]!;
  const cipher = createCipheriv('aes-256-cbc', key, iv.subarray(0, 16)).setAutoPadding(false);
  const y = cipher.update(q);
  for (let j = 0; j < 16; j++) out[outOffset + j] = y[j]! ^ iv[16 + j]!;
  for (let i = 16; i < n; i++) out[outOffset + i] = y[i]! ^ plain[i - 16]!;
  return out;
}

/**
 * Decrypts `cipherText` (length a multiple of 16 bytes) with a 32-byte key
 * and 32-byte IV.
 * @throws Error when the length is not a multiple of 16.
 */
export function igeDecrypt(cipherText: Buffer, key: Buffer, iv: Buffer): Buffer {
  checkLength(cipherText.length);
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
