/**
 * Registering a DC's RSA public key in GramJS's key table so the auth key
 * exchange accepts it (GramJS only knows Telegram's production keys).
 *
 * Source: https://core.telegram.org/mtproto/auth_key (fingerprint: lower 64
 * bits of SHA1 of the serialized `rsa_public_key n:bytes e:bytes`).
 */
import { createHash, createPublicKey } from 'node:crypto';
import bigInt from 'big-integer';
import { _serverKeys } from 'telegram/crypto/RSA.js';

function tlBytes(data: Buffer): Buffer {
  const header =
    data.length < 254
      ? Buffer.from([data.length])
      : Buffer.from([
          254,
          data.length & 0xff,
          (data.length >> 8) & 0xff,
          (data.length >> 16) & 0xff,
        ]);
  const pad = (4 - ((header.length + data.length) % 4)) % 4;
  return Buffer.concat([header, data, Buffer.alloc(pad)]);
}

function unsigned(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Telegram fingerprint of an RSA public key PEM (SPKI `PUBLIC KEY` or PKCS#1
 * `RSA PUBLIC KEY`): a signed 64-bit integer as a decimal string.
 * @throws Error when the PEM is not an RSA public key.
 */
export function rsaPublicKeyFingerprint(publicKeyPem: string): string {
  const { n, e } = rsaComponents(publicKeyPem);
  return createHash('sha1')
    .update(tlBytes(n))
    .update(tlBytes(e))
    .digest()
    .readBigInt64LE(12)
    .toString();
}

function rsaComponents(publicKeyPem: string): { n: Buffer; e: Buffer } {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e)
    throw new Error('TELEGRAM_RSA_PUBLIC_KEY is not an RSA public key');
  return {
    n: unsigned(Buffer.from(jwk.n, 'base64url')),
    e: unsigned(Buffer.from(jwk.e, 'base64url')),
  };
}

/**
 * Adds an RSA public key to GramJS's process-wide key table
 * (`telegram/crypto/RSA` `_serverKeys`, keyed by fingerprint). Idempotent.
 * @returns the key's fingerprint (signed 64-bit decimal string).
 * @throws Error when the PEM is not an RSA public key.
 */
export function registerRsaPublicKey(publicKeyPem: string): string {
  const { n, e } = rsaComponents(publicKeyPem);
  const fingerprint = rsaPublicKeyFingerprint(publicKeyPem);
  _serverKeys.set(fingerprint, {
    n: bigInt(n.toString('hex'), 16),
    e: Number(BigInt('0x' + e.toString('hex'))),
  });
  return fingerprint;
}
