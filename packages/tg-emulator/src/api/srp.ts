/**
 * Server side of Telegram's SRP 2FA (https://core.telegram.org/api/srp):
 * KDF passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow with
 * Telegram's 2048-bit prime and g = 3, B = k·v + g^b mod p, and the M1 proof check.
 */
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Api } from 'telegram';
import type { PasswordRecord } from '../world/types.js';

/** Telegram's 2048-bit safe prime (the one GramJS's Password.js accepts). */
export const SRP_PRIME_HEX =
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b';
const P = BigInt('0x' + SRP_PRIME_HEX);
const P_BYTES = Buffer.from(SRP_PRIME_HEX, 'hex');
/** The generator we use (GramJS accepts 3, 4, 5, 7). */
export const SRP_G = 3;

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Big-endian bytes → bigint. */
export function toBig(b: Buffer): bigint {
  return b.length ? BigInt('0x' + b.toString('hex')) : 0n;
}

/** bigint → big-endian bytes padded to `len`. */
export function toBuf(n: bigint, len = 256): Buffer {
  const hex = n.toString(16).padStart(len * 2, '0');
  return Buffer.from(hex.slice(-len * 2), 'hex');
}

/** base^exp mod m (square-and-multiply). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** The KDF's x = PH2(password, salt1, salt2) as in https://core.telegram.org/api/srp. Slow (PBKDF2, 100000 iterations). */
export function passwordHash(password: string, salt1: Buffer, salt2: Buffer): Buffer {
  const sh = (data: Buffer, salt: Buffer): Buffer => sha256(salt, data, salt);
  const ph1 = sh(sh(Buffer.from(password, 'utf8'), salt1), salt2);
  return sh(pbkdf2Sync(ph1, salt1, 100000, 64, 'sha512'), salt2);
}

/** Creates the stored 2FA material for `password` (random salts, verifier v = g^x mod p). Takes ~100 ms. */
export function makePasswordRecord(password: string, hint?: string): PasswordRecord {
  const salt1 = randomBytes(40);
  const salt2 = randomBytes(16);
  const x = toBig(passwordHash(password, salt1, salt2));
  const v = modPow(BigInt(SRP_G), x, P);
  const rec: PasswordRecord = {
    salt1: salt1.toString('hex'),
    salt2: salt2.toString('hex'),
    g: SRP_G,
    v: toBuf(v).toString('hex'),
  };
  if (hint) rec.hint = hint;
  return rec;
}

/** The `current_algo` object for a password record. */
export function kdfAlgo(
  rec: PasswordRecord,
): Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
  return new Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow({
    salt1: Buffer.from(rec.salt1, 'hex'),
    salt2: Buffer.from(rec.salt2, 'hex'),
    g: rec.g,
    p: P_BYTES,
  });
}

/** The `new_algo` a client would use to set a password (server part of salt1 only). */
export function newKdfAlgo(): Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
  return new Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow({
    salt1: randomBytes(8),
    salt2: randomBytes(16),
    g: SRP_G,
    p: P_BYTES,
  });
}

/** Starts an SRP exchange: random b and B = (k·v + g^b) mod p. */
export function srpServerStart(rec: PasswordRecord): { b: bigint; B: bigint } {
  const g = BigInt(rec.g);
  const v = BigInt('0x' + rec.v);
  const k = toBig(sha256(P_BYTES, toBuf(g)));
  for (;;) {
    const b = toBig(randomBytes(256)) % P;
    const B = (k * v + modPow(g, b, P)) % P;
    if (B > 1n && B < P - 1n) return { b, B };
  }
}

/** Verifies the client's proof M1 for A (https://core.telegram.org/api/srp#checking-the-password-with-srp). */
export function srpCheck(
  rec: PasswordRecord,
  b: bigint,
  B: bigint,
  Abuf: Buffer,
  M1: Buffer,
): boolean {
  const A = toBig(Abuf);
  if (A <= 0n || A >= P) return false;
  const g = BigInt(rec.g);
  const v = BigInt('0x' + rec.v);
  const aForHash = toBuf(A);
  const bForHash = toBuf(B);
  const u = toBig(sha256(aForHash, bForHash));
  if (u === 0n) return false;
  const S = modPow((A * modPow(v, u, P)) % P, b, P);
  const K = sha256(toBuf(S));
  const pSha = sha256(P_BYTES);
  const gSha = sha256(toBuf(g));
  for (let i = 0; i < pSha.length; i++) pSha[i] = pSha[i]! ^ gSha[i]!;
  const expected = sha256(
    pSha,
    sha256(Buffer.from(rec.salt1, 'hex')),
    sha256(Buffer.from(rec.salt2, 'hex')),
    aForHash,
    bForHash,
    K,
  );
  return expected.length === M1.length && expected.equals(M1);
}
