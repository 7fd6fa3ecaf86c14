/**
 * Obfuscated transport: a 64-byte random init header from the client carries
 * AES-256-CTR keys for both directions and, encrypted inside it, the tag of
 * the inner framing (abridged, intermediate or padded intermediate).
 *
 * Source: https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import type { FramingKind } from './transport.js';

/** The CTR streams derived from an obfuscated init header. */
export interface Obfuscation {
  /** Decrypts bytes received from the client (stateful, continuous stream). */
  readonly decrypt: Decipher;
  /** Encrypts bytes sent to the client (stateful, continuous stream). */
  readonly encrypt: Cipher;
  /** The inner framing announced by the header. */
  readonly framing: FramingKind;
  /** DC id from bytes 60..61 of the decrypted header (signed 16-bit; may be 0). */
  readonly dcId: number;
}

/**
 * Parses a 64-byte obfuscated init header. The client's send stream uses
 * key = header[8..40], iv = header[40..56]; the server's send stream uses the
 * same 48 bytes reversed. The whole header passes through the decrypt stream
 * (so later bytes continue at offset 64).
 * @returns the streams, or undefined when the decrypted tag is not a known framing.
 */
export function parseObfuscatedHeader(header: Buffer): Obfuscation | undefined {
  const reversed = Buffer.from(header.subarray(8, 56)).reverse();
  const decrypt = createDecipheriv('aes-256-ctr', header.subarray(8, 40), header.subarray(40, 56));
  const encrypt = createCipheriv(
    'aes-256-ctr',
    reversed.subarray(0, 32),
    reversed.subarray(32, 48),
  );
  const plain = decrypt.update(header);
  const tag = plain.readUInt32LE(56);
  let framing: FramingKind;
  if (tag === 0xefefefef) framing = 'abridged';
  else if (tag === 0xeeeeeeee) framing = 'intermediate';
  else if (tag === 0xdddddddd) framing = 'padded';
  else return undefined;
  return { decrypt, encrypt, framing, dcId: plain.readInt16LE(60) };
}
