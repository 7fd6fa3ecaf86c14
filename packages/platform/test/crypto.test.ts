import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Schema, type Connection } from 'mongoose';
import { uniqueDbUrl } from '@tgbridge/testinfra';
import {
  DecryptionError,
  keyIdOf,
  Keyring,
  rotate,
  rotateCollectionField,
  UnknownKeyIdError,
} from '../src/crypto.js';
import { ConfigError } from '../src/errors.js';
import { closeMongo, connectMongo } from '../src/mongo.js';

const k = (): string => randomBytes(32).toString('base64');
const K1 = k();
const K2 = k();

describe('Keyring', () => {
  const ring = Keyring.fromEnv(`k1:${K1}`, 'k1');

  it('round-trips, with a fresh IV each time', () => {
    const a = ring.seal('1BQANOTEuMTA4LjU2LjE5OAG7...session');
    const b = ring.seal('1BQANOTEuMTA4LjU2LjE5OAG7...session');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(ring.open(a)).toBe('1BQANOTEuMTA4LjU2LjE5OAG7...session');
    expect(ring.open(ring.seal('', 'ctx'), 'ctx')).toBe('');
    expect(ring.open(ring.seal('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('binds the aad', () => {
    const env = ring.seal('secret', 'session:1');
    expect(ring.open(env, 'session:1')).toBe('secret');
    expect(() => ring.open(env, 'session:2')).toThrow(DecryptionError);
    expect(() => ring.open(env)).toThrow(DecryptionError);
  });

  it('detects tampering with ciphertext, tag, iv or key id', () => {
    const env = ring.seal('secret');
    const [v, kid, iv, body] = env.split('.') as [string, string, string, string];
    const flip = (s: string, i: number): string =>
      s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const tampered of [
      [v, kid, iv, flip(body, 0)].join('.'),
      [v, kid, iv, flip(body, body.length - 2)].join('.'),
      [v, kid, flip(iv, 3), body].join('.'),
    ]) {
      const err = (() => {
        try {
          ring.open(tampered);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(DecryptionError);
      expect((err as DecryptionError).code).toBe('DECRYPTION_FAILED');
    }
    // same key material under another id still fails: the header is authenticated
    const twin = Keyring.fromEnv(`k1:${K1},k9:${K1}`, 'k1');
    expect(() => twin.open([v, 'k9', iv, body].join('.'))).toThrow(DecryptionError);
    for (const junk of ['', 'v1', 'v2.k1.a.b', 'v1.k1.!!.b', 'v1.k1.AAAA.AAAA', 'v1..x.y']) {
      expect(() => ring.open(junk)).toThrow(DecryptionError);
    }
  });

  it('rejects an unknown key id with a stable code', () => {
    const other = Keyring.fromEnv(`k2:${K2}`);
    const env = other.seal('x');
    const err = (() => {
      try {
        ring.open(env);
      } catch (e) {
        return e as UnknownKeyIdError;
      }
    })();
    expect(err).toBeInstanceOf(UnknownKeyIdError);
    expect(err?.code).toBe('UNKNOWN_KEY_ID');
    expect(err?.keyId).toBe('k2');
  });

  it('rejects bad key material without echoing it', () => {
    const short = randomBytes(16).toString('base64');
    for (const [spec, line] of [
      [`k1:${short}`, 'SESSION_ENCRYPTION_KEYS: key "k1" is 16 bytes, expected exactly 32'],
      [`k1:not*base64`, 'SESSION_ENCRYPTION_KEYS: key "k1" is not valid base64'],
      [`${short}`, 'SESSION_ENCRYPTION_KEYS: entry #1 is not "kid:base64key"'],
      [`k1:${K1},k1:${K2}`, 'SESSION_ENCRYPTION_KEYS: key id "k1" appears more than once'],
      ['', 'SESSION_ENCRYPTION_KEYS: required but not set'],
    ] as const) {
      let err: unknown;
      try {
        Keyring.fromEnv(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems[0]).toContain(line);
      expect((err as Error).message).not.toContain(short);
      expect((err as Error).message).not.toContain(K2);
    }
    expect(() => Keyring.fromEnv(`k1:${K1}`, 'nope')).toThrow(/SESSION_ENCRYPTION_ACTIVE_KEY_ID/);
    expect(() => new Keyring(new Map([['k1', Buffer.alloc(31)]]), 'k1')).toThrow(ConfigError);
  });

  it('accepts url-safe base64 and defaults the active key to the last one', () => {
    const ring2 = Keyring.fromEnv(`a:${K1}, b:${Buffer.from(K2, 'base64').toString('base64url')}`);
    expect(ring2.activeKeyId).toBe('b');
    expect(ring2.keyIds()).toEqual(['a', 'b']);
  });
});

describe('rotation', () => {
  const oldRing = Keyring.fromEnv(`k1:${K1}`, 'k1');
  const newRing = Keyring.fromEnv(`k1:${K1},k2:${K2}`, 'k2');

  it('re-encrypts with the active key; old envelopes still open; failures are reported', async () => {
    const store = new Map<string, string>([
      ['a', oldRing.seal('alpha', 'a')],
      ['b', newRing.seal('beta', 'b')],
      ['c', Keyring.fromEnv(`zz:${k()}`).seal('gamma', 'c')],
    ]);
    const before = store.get('a')!;
    expect(newRing.needsRotation(before)).toBe(true);
    expect(newRing.open(before, 'a')).toBe('alpha'); // old envelopes still open

    const report = await rotate(
      newRing,
      [...store].map(([id, envelope]) => ({ id, envelope })),
      async (id, envelope) => {
        store.set(id, envelope);
      },
      { aad: (id) => id },
    );
    expect(report).toEqual({
      scanned: 3,
      rotated: 1,
      failed: [{ id: 'c', code: 'UNKNOWN_KEY_ID' }],
    });
    expect(keyIdOf(store.get('a')!)).toBe('k2');
    expect(newRing.open(store.get('a')!, 'a')).toBe('alpha');
    expect(newRing.needsRotation(store.get('b')!)).toBe(false);
    expect(newRing.reseal(store.get('b')!, 'b')).toBe(store.get('b'));
  });

  describe('rotateCollectionField (real MongoDB-wire server)', () => {
    let conn: Connection;
    beforeAll(async () => {
      conn = await connectMongo({ url: uniqueDbUrl(inject('mongoUrl'), 'crypto'), retries: 2 });
    });
    afterAll(async () => {
      await conn.dropDatabase().catch(() => {});
      await closeMongo(conn);
    });

    it('rotates every document sealed with an old key', async () => {
      const Session = conn.model('Session', new Schema({ agentId: String, sessionEnc: String }));
      const docs = await Session.insertMany([
        ...Array.from({ length: 5 }, (_, i) => ({
          agentId: `a${i}`,
          sessionEnc: oldRing.seal(`s${i}`),
        })),
        { agentId: 'current', sessionEnc: newRing.seal('cur') },
        { agentId: 'none' },
      ]);
      const report = await rotateCollectionField(Session, 'sessionEnc', newRing);
      expect(report).toEqual({ scanned: 6, rotated: 5, failed: [] });
      const after = await Session.find().lean();
      for (const doc of after) {
        if (!doc.sessionEnc) continue;
        expect(keyIdOf(doc.sessionEnc)).toBe('k2');
      }
      const a3 = after.find((d) => d.agentId === 'a3')!;
      expect(newRing.open(a3.sessionEnc!)).toBe('s3');
      expect(docs).toHaveLength(7);
      // second run: nothing to do
      expect(await rotateCollectionField(Session, 'sessionEnc', newRing)).toEqual({
        scanned: 6,
        rotated: 0,
        failed: [],
      });
    });
  });
});
