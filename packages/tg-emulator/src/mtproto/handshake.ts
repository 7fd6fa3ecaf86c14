/**
 * Creating an authorization key: the unencrypted DH exchange
 * (req_pq_multi → resPQ, req_DH_params → server_DH_params_ok,
 * set_client_DH_params → dh_gen_ok).
 *
 * Source: https://core.telegram.org/mtproto/auth_key
 */
import {
  createDiffieHellman,
  createHash,
  randomBytes,
  type DiffieHellman,
  type KeyObject,
} from 'node:crypto';
import bigInt from 'big-integer';
import { Api } from 'telegram';
import { BinaryReader } from 'telegram/extensions/index.js';
import { readBigIntFromBuffer, readBufferFromBigInt } from 'telegram/Helpers.js';
import { igeDecrypt, igeEncrypt } from './ige.js';
import { rsaRawDecrypt } from './rsa.js';

/** Telegram's 2048-bit safe prime for the auth key DH exchange (g = 3). */
export const DH_PRIME_HEX =
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b';
/** The DH generator used with {@link DH_PRIME_HEX}. */
export const DH_G = 3;

const DH_PRIME = Buffer.from(DH_PRIME_HEX, 'hex');
const DH_PRIME_BIG = BigInt('0x' + DH_PRIME_HEX);
/** g_a / g_b must lie in (2^(2048-64), p - 2^(2048-64)). */
const SAFETY_LOW = 1n << (2048n - 64n);
const SAFETY_HIGH = DH_PRIME_BIG - SAFETY_LOW;

let sharedDh: DiffieHellman | undefined;
/** One DiffieHellman object for the whole process (creating one checks the prime, ~300 ms). */
function dh(): DiffieHellman {
  sharedDh ??= createDiffieHellman(DH_PRIME, DH_G);
  return sharedDh;
}

/** What the server needs from its environment during a handshake. */
export interface HandshakeContext {
  /** The server's RSA private key. */
  rsaPrivateKey: KeyObject;
  /** Fingerprint of its public key, signed 64-bit decimal string. */
  fingerprint: string;
  /** The DC id this server claims to be (checked loosely against p_q_inner_data_dc). */
  dcId: number;
}

/** A finished exchange: the new 256-byte key and the first server salt. */
export interface NewAuthKey {
  key: Buffer;
  /** auth_key_id: lower 64 bits of SHA1(key), signed decimal string. */
  id: string;
  /** First server salt: substr(new_nonce,0,8) XOR substr(server_nonce,0,8), as signed 64-bit. */
  salt: bigint;
  /** For p_q_inner_data_temp(_dc): seconds until the temporary key expires. */
  expiresIn?: number;
}

type BigInteger = bigInt.BigInteger;

function le(v: BigInteger, bytes: number): Buffer {
  return readBufferFromBigInt(v, bytes, true, true);
}
function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}
function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
function beToBig(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + b.toString('hex'));
}
function bigToBe(v: bigint, len?: number): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const b = Buffer.from(hex, 'hex');
  if (len === undefined || b.length >= len) return b;
  return Buffer.concat([Buffer.alloc(len - b.length), b]);
}

function modMul(a: bigint, b: bigint, m: bigint): bigint {
  return (a * b) % m;
}
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = modMul(r, b, m);
    b = modMul(b, b, m);
    e >>= 1n;
  }
  return r;
}
/** Deterministic Miller–Rabin for n < 2^32 (bases 2, 7, 61). */
function isPrime32(n: bigint): boolean {
  if (n < 2n) return false;
  for (const p of [2n, 3n, 5n, 7n, 11n, 13n]) if (n % p === 0n) return n === p;
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  outer: for (const a of [2n, 7n, 61n]) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < s; i++) {
      x = modMul(x, x, n);
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}
/** A random prime in [2^30, 2^31). */
function randomPrime31(): bigint {
  for (;;) {
    const n = BigInt((randomBytes(4).readUInt32BE(0) & 0x3fffffff) | 0x40000001);
    if (isPrime32(n)) return n;
  }
}

/**
 * Computes new_nonce_hash{1,2,3}: the lower 128 bits of
 * SHA1(new_nonce + [n] + auth_key_aux_hash), as a signed little-endian int128.
 */
function newNonceHash(newNonce: Buffer, n: number, authKey: Buffer): BigInteger {
  const aux = sha1(authKey).subarray(0, 8);
  return readBigIntFromBuffer(sha1(newNonce, Buffer.from([n]), aux).subarray(4, 20), true, true);
}

/** tmp_aes_key / tmp_aes_iv from new_nonce and server_nonce (both raw little-endian bytes). */
function tmpAes(newNonce: Buffer, serverNonce: Buffer): { key: Buffer; iv: Buffer } {
  const a = sha1(newNonce, serverNonce);
  const b = sha1(serverNonce, newNonce);
  const c = sha1(newNonce, newNonce);
  return {
    key: Buffer.concat([a, b.subarray(0, 12)]),
    iv: Buffer.concat([b.subarray(12, 20), c, newNonce.subarray(0, 4)]),
  };
}

/** Thrown for a protocol violation during the exchange; the server closes the connection. */
export class HandshakeError extends Error {}

/**
 * The per-connection state machine of the DH exchange. Feed it every
 * unencrypted request object; it returns the TL answer (or throws
 * {@link HandshakeError}). When the exchange completes, `onKey` is called
 * before dh_gen_ok is returned.
 */
export class Handshake {
  private nonce?: BigInteger;
  private serverNonce?: BigInteger;
  private p = 0n;
  private q = 0n;
  private newNonce?: Buffer;
  private a?: Buffer;
  private tmp?: { key: Buffer; iv: Buffer };
  private expiresIn?: number;

  constructor(
    private readonly ctx: HandshakeContext,
    private readonly onKey: (key: NewAuthKey) => void,
  ) {}

  /**
   * Handles one unencrypted request.
   * @returns the TL object to send back unencrypted.
   * @throws HandshakeError on a bad nonce, bad proof of work, bad RSA payload or unexpected message.
   */
  handle(req: unknown): { getBytes(): Buffer } {
    if (req instanceof Api.ReqPqMulti || req instanceof Api.ReqPq) return this.reqPq(req.nonce);
    if (req instanceof Api.ReqDHParams) return this.reqDhParams(req);
    if (req instanceof Api.SetClientDHParams) return this.setClientDhParams(req);
    throw new HandshakeError(
      `unexpected unencrypted message ${(req as { className?: string })?.className}`,
    );
  }

  private checkNonces(nonce: BigInteger, serverNonce: BigInteger): void {
    if (
      !this.nonce ||
      !this.serverNonce ||
      !nonce.eq(this.nonce) ||
      !serverNonce.eq(this.serverNonce)
    ) {
      throw new HandshakeError('nonce mismatch');
    }
  }

  private reqPq(nonce: BigInteger): Api.ResPQ {
    this.nonce = nonce;
    this.serverNonce = readBigIntFromBuffer(randomBytes(16), true, true);
    let p = randomPrime31();
    let q = randomPrime31();
    while (q === p) q = randomPrime31();
    if (p > q) [p, q] = [q, p];
    this.p = p;
    this.q = q;
    this.newNonce = undefined;
    this.tmp = undefined;
    return new Api.ResPQ({
      nonce,
      serverNonce: this.serverNonce,
      pq: bigToBe(p * q),
      serverPublicKeyFingerprints: [bigInt(this.ctx.fingerprint)],
    });
  }

  /** Decrypts encrypted_data with RSA_PAD, falling back to the old sha1+data+padding scheme. */
  private decryptInner(encrypted: Buffer): unknown {
    if (encrypted.length > 256) throw new HandshakeError('encrypted_data too long');
    let plain: Buffer;
    try {
      plain = rsaRawDecrypt(
        this.ctx.rsaPrivateKey,
        encrypted.length < 256
          ? Buffer.concat([Buffer.alloc(256 - encrypted.length), encrypted])
          : encrypted,
      );
    } catch {
      throw new HandshakeError('RSA decryption failed');
    }
    // RSA_PAD: temp_key_xor (32) + aes_encrypted (224).
    {
      const aesEncrypted = plain.subarray(32);
      const tempKey = Buffer.alloc(32);
      const h = sha256(aesEncrypted);
      for (let i = 0; i < 32; i++) tempKey[i] = plain[i]! ^ h[i]!;
      const dataWithHash = igeDecrypt(aesEncrypted, tempKey, Buffer.alloc(32));
      const dataWithPadding = Buffer.from(dataWithHash.subarray(0, 192)).reverse();
      if (sha256(tempKey, dataWithPadding).equals(dataWithHash.subarray(192, 224))) {
        return new BinaryReader(dataWithPadding).tgReadObject();
      }
    }
    // Old scheme: (leading zero) sha1(data) + data + random padding, 255 bytes.
    for (const off of [1, 0]) {
      try {
        const body = plain.subarray(off + 20);
        const reader = new BinaryReader(body);
        const obj = reader.tgReadObject();
        const len = reader.tellPosition();
        if (sha1(body.subarray(0, len)).equals(plain.subarray(off, off + 20))) return obj;
      } catch {
        // try the next layout
      }
    }
    throw new HandshakeError('encrypted_data hash mismatch');
  }

  private reqDhParams(req: Api.ReqDHParams): Api.ServerDHParamsOk {
    this.checkNonces(req.nonce, req.serverNonce);
    if (req.publicKeyFingerprint.toString() !== this.ctx.fingerprint)
      throw new HandshakeError('unknown RSA fingerprint');
    if (beToBig(req.p) !== this.p || beToBig(req.q) !== this.q)
      throw new HandshakeError('wrong p/q');
    const inner = this.decryptInner(req.encryptedData);
    if (!(
      inner instanceof Api.PQInnerData ||
      inner instanceof Api.PQInnerDataDc ||
      inner instanceof Api.PQInnerDataTemp ||
      inner instanceof Api.PQInnerDataTempDc
    )) {
      throw new HandshakeError('encrypted_data is not p_q_inner_data');
    }
    this.checkNonces(inner.nonce, inner.serverNonce);
    if (
      beToBig(inner.pq) !== this.p * this.q ||
      beToBig(inner.p) !== this.p ||
      beToBig(inner.q) !== this.q
    ) {
      throw new HandshakeError('p_q_inner_data does not match');
    }
    this.expiresIn =
      inner instanceof Api.PQInnerDataTemp || inner instanceof Api.PQInnerDataTempDc
        ? inner.expiresIn
        : undefined;
    this.newNonce = le(inner.newNonce, 32);
    const serverNonce = le(this.serverNonce!, 16);
    this.tmp = tmpAes(this.newNonce, serverNonce);
    this.a = randomBytes(256);
    const d = dh();
    d.setPrivateKey(this.a);
    d.generateKeys();
    const gA = d.getPublicKey();
    const answer = new Api.ServerDHInnerData({
      nonce: this.nonce!,
      serverNonce: this.serverNonce!,
      g: DH_G,
      dhPrime: DH_PRIME,
      gA,
      serverTime: Math.floor(Date.now() / 1000),
    }).getBytes();
    const withHash = Buffer.concat([sha1(answer), answer]);
    const padded = Buffer.concat([withHash, randomBytes((16 - (withHash.length % 16)) % 16)]);
    return new Api.ServerDHParamsOk({
      nonce: this.nonce!,
      serverNonce: this.serverNonce!,
      encryptedAnswer: igeEncrypt(padded, this.tmp.key, this.tmp.iv),
    });
  }

  private setClientDhParams(req: Api.SetClientDHParams): Api.DhGenOk | Api.DhGenRetry {
    this.checkNonces(req.nonce, req.serverNonce);
    if (!this.tmp || !this.newNonce || !this.a)
      throw new HandshakeError('set_client_DH_params before req_DH_params');
    if (req.encryptedData.length % 16 !== 0) throw new HandshakeError('bad encrypted_data length');
    const plain = igeDecrypt(req.encryptedData, this.tmp.key, this.tmp.iv);
    const reader = new BinaryReader(plain.subarray(20));
    const inner = reader.tgReadObject();
    if (!(inner instanceof Api.ClientDHInnerData))
      throw new HandshakeError('not client_DH_inner_data');
    if (!sha1(plain.subarray(20, 20 + reader.tellPosition())).equals(plain.subarray(0, 20))) {
      throw new HandshakeError('client_DH_inner_data hash mismatch');
    }
    this.checkNonces(inner.nonce, inner.serverNonce);
    const gB = beToBig(inner.gB);
    if (gB <= SAFETY_LOW || gB >= SAFETY_HIGH) throw new HandshakeError('g_b out of range');
    const d = dh();
    d.setPrivateKey(this.a);
    const key = bigToBe(beToBig(d.computeSecret(inner.gB)), 256);
    if (key[0] === 0) {
      // GramJS serializes the key without leading zero bytes (a 255-byte key);
      // ask for a new g_b instead of agreeing on a key it would compute differently.
      return new Api.DhGenRetry({
        nonce: this.nonce!,
        serverNonce: this.serverNonce!,
        newNonceHash2: newNonceHash(this.newNonce, 2, key),
      });
    }
    const serverNonce = le(this.serverNonce!, 16);
    const saltBuf = Buffer.alloc(8);
    for (let i = 0; i < 8; i++) saltBuf[i] = this.newNonce[i]! ^ serverNonce[i]!;
    const id = sha1(key).readBigInt64LE(12).toString();
    const hash1 = newNonceHash(this.newNonce, 1, key);
    this.onKey({
      key,
      id,
      salt: saltBuf.readBigInt64LE(0),
      ...(this.expiresIn !== undefined ? { expiresIn: this.expiresIn } : {}),
    });
    this.nonce = this.serverNonce = undefined;
    this.tmp = this.newNonce = this.a = undefined;
    return new Api.DhGenOk({
      nonce: inner.nonce,
      serverNonce: inner.serverNonce,
      newNonceHash1: hash1,
    });
  }
}
