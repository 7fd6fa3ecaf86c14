/**
 * Client side of the MTProto auth key exchange for the benchmark's raw
 * client: req_pq_multi → req_DH_params (p_q_inner_data_dc, the old
 * sha1+data+padding RSA scheme via native RSA without padding) →
 * set_client_DH_params → dh_gen_ok. DH arithmetic is native
 * (`createDiffieHellman`); pq is factored with Pollard–Brent on BigInt.
 *
 * Source: https://core.telegram.org/mtproto/auth_key
 */
import {
  constants,
  createDiffieHellman,
  createHash,
  publicEncrypt,
  randomBytes,
  type DiffieHellman,
} from 'node:crypto';
import bigInt from 'big-integer';
import { Api } from 'telegram';
import { BinaryReader } from 'telegram/extensions/index.js';
import { readBigIntFromBuffer, readBufferFromBigInt } from 'telegram/Helpers.js';
import { igeDecrypt, igeEncrypt } from '../../packages/tg-emulator/src/mtproto/ige.js';
import type { RawClient } from './raw-client.js';

const sha1 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};
const beToBig = (b: Buffer): bigint => BigInt('0x' + (b.toString('hex') || '0'));
const bigToBe = (v: bigint): Buffer => {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
};
const gcd = (a: bigint, b: bigint): bigint => {
  while (b) [a, b] = [b, a % b];
  return a;
};

/** Factors pq (product of two primes < 2^32) with Pollard–Brent; returns [p, q], p < q. */
export function factorPq(n: bigint): [bigint, bigint] {
  for (let c = 1n; ; c++) {
    let y = 2n;
    let r = 1;
    let q = 1n;
    let g = 1n;
    let x = y;
    let ys = y;
    const f = (v: bigint): bigint => (v * v + c) % n;
    while (g === 1n) {
      x = y;
      for (let i = 0; i < r; i++) y = f(y);
      for (let k = 0; k < r && g === 1n; k += 128) {
        ys = y;
        for (let i = 0; i < Math.min(128, r - k); i++) {
          y = f(y);
          q = (q * (x > y ? x - y : y - x)) % n;
        }
        g = gcd(q, n);
      }
      r *= 2;
    }
    if (g === n) {
      do {
        ys = f(ys);
        g = gcd(x > ys ? x - ys : ys - x, n);
      } while (g === 1n);
    }
    if (g !== n) {
      const other = n / g;
      return g < other ? [g, other] : [other, g];
    }
  }
}

let sharedDh: { prime: string; dh: DiffieHellman } | undefined;
function dhFor(prime: Buffer, g: number): DiffieHellman {
  const hex = prime.toString('hex');
  if (sharedDh?.prime !== hex) sharedDh = { prime: hex, dh: createDiffieHellman(prime, g) };
  return sharedDh.dh;
}

function read(body: Buffer): unknown {
  return new BinaryReader(body).tgReadObject();
}

/** Result of a finished exchange. */
export interface RawAuthKey {
  key: Buffer;
  /** First server salt (new_nonce[0..8] XOR server_nonce[0..8]). */
  salt: bigint;
}

/**
 * Runs the DH exchange on a fresh raw connection against a server whose
 * public key is `publicKeyPem`.
 * @throws Error when the server answers unexpectedly.
 */
export async function exchangeAuthKey(
  client: RawClient,
  publicKeyPem: string,
  fingerprint: string,
  dcId: number,
): Promise<RawAuthKey> {
  const nonce = readBigIntFromBuffer(randomBytes(16), true, true);
  const resPq = read(await client.plainCall(new Api.ReqPqMulti({ nonce }).getBytes()));
  if (!(resPq instanceof Api.ResPQ)) throw new Error('expected resPQ');
  const [p, q] = factorPq(beToBig(resPq.pq));
  const newNonceBuf = randomBytes(32);
  const newNonce = readBigIntFromBuffer(newNonceBuf, true, true);
  const inner = new Api.PQInnerDataDc({
    pq: resPq.pq,
    p: bigToBe(p),
    q: bigToBe(q),
    nonce,
    serverNonce: resPq.serverNonce,
    newNonce,
    dc: dcId,
  }).getBytes();
  const block = Buffer.alloc(256);
  sha1(inner).copy(block, 1);
  inner.copy(block, 21);
  randomBytes(255 - 20 - inner.length).copy(block, 21 + inner.length);
  const encryptedData = publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_NO_PADDING },
    block,
  );
  const dhParams = read(
    await client.plainCall(
      new Api.ReqDHParams({
        nonce,
        serverNonce: resPq.serverNonce,
        p: bigToBe(p),
        q: bigToBe(q),
        publicKeyFingerprint: bigInt(fingerprint),
        encryptedData,
      }).getBytes(),
    ),
  );
  if (!(dhParams instanceof Api.ServerDHParamsOk)) throw new Error('expected server_DH_params_ok');
  const serverNonceBuf = readBufferFromBigInt(resPq.serverNonce, 16, true, true);
  const a = sha1(newNonceBuf, serverNonceBuf);
  const b = sha1(serverNonceBuf, newNonceBuf);
  const c = sha1(newNonceBuf, newNonceBuf);
  const tmpKey = Buffer.concat([a, b.subarray(0, 12)]);
  const tmpIv = Buffer.concat([b.subarray(12, 20), c, newNonceBuf.subarray(0, 4)]);
  const answer = igeDecrypt(dhParams.encryptedAnswer, tmpKey, tmpIv);
  const dhInner = read(answer.subarray(20));
  if (!(dhInner instanceof Api.ServerDHInnerData)) throw new Error('expected server_DH_inner_data');
  const dh = dhFor(dhInner.dhPrime, dhInner.g);
  let authKey = Buffer.alloc(256);
  // dh_gen_retry (the server refuses keys with a leading zero byte): new b, same exchange.
  for (let attempt = 0; ; attempt++) {
    dh.setPrivateKey(randomBytes(256));
    dh.generateKeys();
    const gB = dh.getPublicKey();
    authKey = Buffer.alloc(256);
    const secret = dh.computeSecret(dhInner.gA);
    secret.copy(authKey, 256 - secret.length);
    const clientInner = new Api.ClientDHInnerData({
      nonce,
      serverNonce: resPq.serverNonce,
      retryId: bigInt(attempt),
      gB,
    }).getBytes();
    const withHash = Buffer.concat([sha1(clientInner), clientInner]);
    const padded = Buffer.concat([withHash, randomBytes((16 - (withHash.length % 16)) % 16)]);
    const gen = read(
      await client.plainCall(
        new Api.SetClientDHParams({
          nonce,
          serverNonce: resPq.serverNonce,
          encryptedData: igeEncrypt(padded, tmpKey, tmpIv),
        }).getBytes(),
      ),
    );
    if (gen instanceof Api.DhGenOk) break;
    if (!(gen instanceof Api.DhGenRetry) || attempt >= 5)
      throw new Error(`DH exchange failed: ${String(gen)}`);
  }
  const saltBuf = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) saltBuf[i] = newNonceBuf[i]! ^ serverNonceBuf[i]!;
  return { key: authKey, salt: saltBuf.readBigInt64LE(0) };
}
