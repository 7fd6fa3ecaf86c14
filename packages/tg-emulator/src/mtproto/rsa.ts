/**
 * The emulator's RSA key pair (the "server public key" clients pin) and its
 * Telegram fingerprint.
 *
 * Source: https://core.telegram.org/mtproto/auth_key (step 2: the fingerprint
 * is the lower 64 bits of SHA1 of the serialized `rsa_public_key n:bytes e:bytes`).
 */
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  constants,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** An RSA key pair as PEM texts plus the derived Telegram fingerprint. */
export interface RsaKeyPair {
  /** PKCS#8 PEM of the private key. */
  privateKeyPem: string;
  /** SPKI PEM of the public key (what clients configure, e.g. TELEGRAM_RSA_PUBLIC_KEY). */
  publicKeyPem: string;
  /** Telegram fingerprint: signed 64-bit value as a decimal string (GramJS `_serverKeys` key). */
  fingerprint: string;
  /** Modulus n as an unsigned big-endian byte string (256 bytes for 2048-bit keys). */
  n: Buffer;
  /** Public exponent e, unsigned big-endian (65537 → 01 00 01). */
  e: Buffer;
}

/** TL `bytes` serialization (length prefix, padding to 4 bytes). */
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
  const total = header.length + data.length;
  const pad = (4 - (total % 4)) % 4;
  return Buffer.concat([header, data, Buffer.alloc(pad)]);
}

/**
 * Computes Telegram's fingerprint of a public key given as modulus and
 * exponent (unsigned big-endian byte strings): the lower 64 bits of
 * SHA1(tl_bytes(n) + tl_bytes(e)), read as a little-endian signed 64-bit
 * integer and returned as a decimal string.
 */
export function rsaFingerprint(n: Buffer, e: Buffer): string {
  const sha = createHash('sha1').update(tlBytes(n)).update(tlBytes(e)).digest();
  return sha.readBigInt64LE(12).toString();
}

/** Strips leading zero bytes (JWK components may carry none, but be safe). */
function unsigned(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Builds an {@link RsaKeyPair} from a private key PEM (PKCS#1 or PKCS#8).
 * @throws Error when the PEM is not an RSA private key.
 */
export function rsaKeyPairFromPrivatePem(privateKeyPem: string): RsaKeyPair {
  const priv = createPrivateKey(privateKeyPem);
  if (priv.asymmetricKeyType !== 'rsa') throw new Error('not an RSA private key');
  const pub = createPublicKey(priv);
  const { n, e } = rsaPublicComponents(pub.export({ format: 'pem', type: 'spki' }).toString());
  return {
    privateKeyPem: priv.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: pub.export({ format: 'pem', type: 'spki' }).toString(),
    fingerprint: rsaFingerprint(n, e),
    n,
    e,
  };
}

/**
 * Modulus and exponent of an RSA public key PEM (SPKI "PUBLIC KEY" or PKCS#1
 * "RSA PUBLIC KEY"), unsigned big-endian.
 * @throws Error when the PEM is not an RSA public key.
 */
export function rsaPublicComponents(publicKeyPem: string): { n: Buffer; e: Buffer } {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new Error('not an RSA public key');
  return {
    n: unsigned(Buffer.from(jwk.n, 'base64url')),
    e: unsigned(Buffer.from(jwk.e, 'base64url')),
  };
}

/** Generates a fresh 2048-bit RSA key pair with e = 65537 (takes ~0.1–0.5 s). */
export function generateRsaKeyPair(): RsaKeyPair {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  return rsaKeyPairFromPrivatePem(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
}

/**
 * Loads the key pair from `privateKeyPath` (a PEM file), or generates one and
 * writes it there (mode 0600, creating the directory) when the file is absent.
 * @throws Error when the file exists but is not an RSA private key.
 */
export function loadOrCreateRsaKeyPair(privateKeyPath: string): RsaKeyPair {
  if (existsSync(privateKeyPath))
    return rsaKeyPairFromPrivatePem(readFileSync(privateKeyPath, 'utf8'));
  const pair = generateRsaKeyPair();
  mkdirSync(dirname(privateKeyPath), { recursive: true });
  writeFileSync(privateKeyPath, pair.privateKeyPem, { mode: 0o600 });
  return pair;
}

/**
 * Raw RSA decryption (no padding): returns `c^d mod n` as a buffer of the
 * modulus length (256 bytes).
 * @throws Error when `data` is not smaller than the modulus.
 */
export function rsaRawDecrypt(privateKey: KeyObject | string, data: Buffer): Buffer {
  return privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, data);
}
