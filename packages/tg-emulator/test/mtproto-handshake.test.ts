/**
 * The DH exchange driven step by step like other MTProto clients do it:
 * req_pq (not _multi), the old `sha1 + data + padding` RSA scheme, and
 * p_q_inner_data_dc / p_q_inner_data_temp_dc with RSA_PAD; plus AES-IGE
 * against GramJS's own implementation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import bigInt from 'big-integer';
import { describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { AuthKey } from 'telegram/crypto/AuthKey.js';
import { Factorizator } from 'telegram/crypto/Factorizator.js';
import { IGE } from 'telegram/crypto/IGE.js';
import { encrypt as rsaOldEncrypt } from 'telegram/crypto/RSA.js';
import { BinaryReader } from 'telegram/extensions/index.js';
import {
  generateKeyDataFromNonce,
  getByteArray,
  modExp,
  readBigIntFromBuffer,
  readBufferFromBigInt,
  sha256,
} from 'telegram/Helpers.js';
import { registerRsaPublicKey } from '@tgbridge/telegram';
import { Handshake, type NewAuthKey } from '../src/mtproto/handshake.js';
import { igeDecrypt, igeEncrypt } from '../src/mtproto/ige.js';
import { testKeys } from './mtproto-harness.js';

type Inner = 'plain' | 'dc' | 'temp_dc';

/** RSA_PAD as in https://core.telegram.org/mtproto/auth_key#presenting-proof-of-work-server-authentication */
async function rsaPad(data: Buffer, n: bigInt.BigInteger): Promise<Buffer> {
  for (;;) {
    const withPadding = Buffer.concat([data, randomBytes(192 - data.length)]);
    const tempKey = randomBytes(32);
    const withHash = Buffer.concat([
      Buffer.from(withPadding).reverse(),
      await sha256(Buffer.concat([tempKey, withPadding])),
    ]);
    const aesEncrypted = new IGE(tempKey, Buffer.alloc(32)).encryptIge(withHash);
    const h = await sha256(aesEncrypted);
    const keyAes = Buffer.concat([Buffer.from(tempKey.map((b, i) => b ^ h[i]!)), aesEncrypted]);
    const x = readBigIntFromBuffer(keyAes, false, false);
    if (x.greaterOrEquals(n)) continue;
    return readBufferFromBigInt(modExp(x, bigInt(65537), n), 256, false, false);
  }
}

async function exchange(opts: {
  multi: boolean;
  inner: Inner;
  oldRsa: boolean;
}): Promise<{ key: NewAuthKey; clientKey: Buffer }> {
  const keys = testKeys();
  registerRsaPublicKey(keys.publicKeyPem);
  let created: NewAuthKey | undefined;
  const hs = new Handshake(
    { rsaPrivateKey: createPrivateKey(keys.privateKeyPem), fingerprint: keys.fingerprint, dcId: 2 },
    (k) => (created = k),
  );
  const roundTrip = (req: { getBytes(): Buffer }): unknown =>
    new BinaryReader(
      hs.handle(new BinaryReader(req.getBytes()).tgReadObject()).getBytes(),
    ).tgReadObject();

  const nonce = readBigIntFromBuffer(randomBytes(16), false, true);
  const resPq = roundTrip(
    opts.multi ? new Api.ReqPqMulti({ nonce }) : new Api.ReqPq({ nonce }),
  ) as Api.ResPQ;
  expect(resPq).toBeInstanceOf(Api.ResPQ);
  const pq = readBigIntFromBuffer(resPq.pq, false, true);
  expect(pq.bitLength().toJSNumber()).toBeGreaterThanOrEqual(61);
  const { p, q } = Factorizator.factorize(pq);
  const newNonce = readBigIntFromBuffer(randomBytes(32), true, true);
  const common = {
    pq: getByteArray(pq),
    p: getByteArray(p),
    q: getByteArray(q),
    nonce,
    serverNonce: resPq.serverNonce,
    newNonce,
  };
  const inner =
    opts.inner === 'plain'
      ? new Api.PQInnerData(common)
      : opts.inner === 'dc'
        ? new Api.PQInnerDataDc({ ...common, dc: 2 })
        : new Api.PQInnerDataTempDc({ ...common, dc: 2, expiresIn: 86400 });
  const fingerprint = resPq.serverPublicKeyFingerprints[0]!;
  const encryptedData = opts.oldRsa
    ? (await rsaOldEncrypt(fingerprint, inner.getBytes()))!
    : await rsaPad(inner.getBytes(), bigInt(keys.n.toString('hex'), 16));
  const dhParams = roundTrip(
    new Api.ReqDHParams({
      nonce,
      serverNonce: resPq.serverNonce,
      p: common.p,
      q: common.q,
      publicKeyFingerprint: fingerprint,
      encryptedData,
    }),
  ) as Api.ServerDHParamsOk;
  expect(dhParams).toBeInstanceOf(Api.ServerDHParamsOk);
  const { key, iv } = await generateKeyDataFromNonce(resPq.serverNonce, newNonce);
  const ige = new IGE(key, iv);
  const answer = ige.decryptIge(dhParams.encryptedAnswer);
  const reader = new BinaryReader(answer.subarray(20));
  const dhInner = reader.tgReadObject() as Api.ServerDHInnerData;
  expect(
    createHash('sha1')
      .update(answer.subarray(20, 20 + reader.tellPosition()))
      .digest(),
  ).toEqual(answer.subarray(0, 20));
  expect(dhInner.g).toBe(3);
  expect(dhInner.dhPrime.toString('hex').startsWith('c71caeb9c6b1c9048e6c522f70f13f73')).toBe(true);
  for (let retry = 0; ; retry++) {
    const b = readBigIntFromBuffer(randomBytes(256), false, false);
    const prime = readBigIntFromBuffer(dhInner.dhPrime, false, false);
    const gb = modExp(bigInt(3), b, prime);
    const gab = modExp(readBigIntFromBuffer(dhInner.gA, false, false), b, prime);
    const clientInner = new Api.ClientDHInnerData({
      nonce,
      serverNonce: resPq.serverNonce,
      retryId: bigInt.zero,
      gB: getByteArray(gb),
    }).getBytes();
    const sha = createHash('sha1').update(clientInner).digest();
    const plain = Buffer.concat([sha, clientInner]);
    const padded = Buffer.concat([plain, randomBytes((16 - (plain.length % 16)) % 16)]);
    const gen = roundTrip(
      new Api.SetClientDHParams({
        nonce,
        serverNonce: resPq.serverNonce,
        encryptedData: ige.encryptIge(padded),
      }),
    );
    const clientKey = readBufferFromBigInt(gab, 256, false, false);
    if (gen instanceof Api.DhGenRetry && retry < 5) continue;
    expect(gen).toBeInstanceOf(Api.DhGenOk);
    const ak = new AuthKey();
    await ak.setKey(clientKey);
    expect((gen as Api.DhGenOk).newNonceHash1.eq(await ak.calcNewNonceHash(newNonce, 1))).toBe(
      true,
    );
    return { key: created!, clientKey };
  }
}

describe('auth key exchange variants', () => {
  it('req_pq + p_q_inner_data + old sha1+data+padding RSA', async () => {
    const { key, clientKey } = await exchange({ multi: false, inner: 'plain', oldRsa: true });
    expect(key.key).toEqual(clientKey);
  });
  it('req_pq_multi + p_q_inner_data_dc + RSA_PAD', async () => {
    const { key, clientKey } = await exchange({ multi: true, inner: 'dc', oldRsa: false });
    expect(key.key).toEqual(clientKey);
    expect(key.id).toBe(
      createHash('sha1').update(clientKey).digest().readBigInt64LE(12).toString(),
    );
  });
  it('p_q_inner_data_temp_dc (old RSA scheme) reports expires_in', async () => {
    const { key } = await exchange({ multi: true, inner: 'temp_dc', oldRsa: true });
    expect(key.expiresIn).toBe(86400);
  });
  it('a tampered encrypted_data is rejected', () => {
    const keys = testKeys();
    const hs = new Handshake(
      {
        rsaPrivateKey: createPrivateKey(keys.privateKeyPem),
        fingerprint: keys.fingerprint,
        dcId: 2,
      },
      () => {},
    );
    const nonce = readBigIntFromBuffer(randomBytes(16), false, true);
    const res = hs.handle(new Api.ReqPqMulti({ nonce })) as Api.ResPQ;
    const { p, q } = Factorizator.factorize(readBigIntFromBuffer(res.pq, false, true));
    expect(() =>
      hs.handle(
        new Api.ReqDHParams({
          nonce,
          serverNonce: res.serverNonce,
          p: getByteArray(p),
          q: getByteArray(q),
          publicKeyFingerprint: bigInt(keys.fingerprint),
          encryptedData: randomBytes(255),
        }),
      ),
    ).toThrow();
  });
});

describe('AES-256-IGE', () => {
  it('matches GramJS and round-trips', () => {
    const key = randomBytes(32);
    const iv = randomBytes(32);
    const data = randomBytes(16 * 37);
    const ours = igeEncrypt(data, key, iv);
    expect(ours).toEqual(new IGE(key, iv).encryptIge(data));
    expect(igeDecrypt(ours, key, iv)).toEqual(data);
  });
});
