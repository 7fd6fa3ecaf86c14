/**
 * @tgbridge/telegram: env parsing, RSA key registration, port pinning and a
 * real GramJS login-less session against the emulator's MTProto server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { _serverKeys } from 'telegram/crypto/RSA.js';
import type { StringSession } from 'telegram/sessions/index.js';
import { AuthKeyStore } from '../../tg-emulator/src/auth-keys.js';
import { RpcError } from '../../tg-emulator/src/rpc.js';
import {
  MtprotoServer,
  generateRsaKeyPair,
  type RsaKeyPair,
} from '../../tg-emulator/src/server.js';
import {
  createTelegramClient,
  parseDcAddress,
  pinnedConnectionClass,
  registerRsaPublicKey,
  rsaPublicKeyFingerprint,
  telegramTargetFromEnv,
} from '../src/index.js';

let keys: RsaKeyPair;
let server: MtprotoServer;
const authKeys = new AuthKeyStore();

beforeAll(async () => {
  keys = generateRsaKeyPair();
  server = new MtprotoServer({
    rsaPrivateKeyPem: keys.privateKeyPem,
    authKeys,
    handler: {
      async handle() {
        throw new RpcError(401, 'AUTH_KEY_UNREGISTERED');
      },
    },
  });
  await server.listen();
});
afterAll(async () => {
  await server.close();
});

describe('telegramTargetFromEnv', () => {
  it('reads TELEGRAM_DC and TELEGRAM_RSA_PUBLIC_KEY as PEM text or file path', () => {
    const t = telegramTargetFromEnv({
      TELEGRAM_DC: '127.0.0.1:10443',
      TELEGRAM_RSA_PUBLIC_KEY: keys.publicKeyPem,
    });
    expect(t.dc).toEqual({ host: '127.0.0.1', port: 10443, dcId: 2 });
    expect(t.rsaPublicKeyPem?.trim()).toBe(keys.publicKeyPem.trim());
    expect(t.apiId).toBe(1);
    const dir = mkdtempSync(join(tmpdir(), 'tgkey-'));
    const file = join(dir, 'pub.pem');
    writeFileSync(file, keys.publicKeyPem);
    const t2 = telegramTargetFromEnv({
      TELEGRAM_DC: 'localhost:2000/4',
      TELEGRAM_RSA_PUBLIC_KEY: file,
      TELEGRAM_API_ID: '77',
      TELEGRAM_API_HASH: 'h',
    });
    expect(t2).toMatchObject({
      dc: { host: 'localhost', port: 2000, dcId: 4 },
      apiId: 77,
      apiHash: 'h',
    });
    expect(t2.rsaPublicKeyPem?.trim()).toBe(keys.publicKeyPem.trim());
  });

  it('without a DC targets real Telegram and requires api credentials', () => {
    expect(telegramTargetFromEnv({ TELEGRAM_API_ID: '5', TELEGRAM_API_HASH: 'abc' })).toEqual({
      apiId: 5,
      apiHash: 'abc',
    });
    expect(() => telegramTargetFromEnv({})).toThrow(/TELEGRAM_API_ID/);
    expect(() => telegramTargetFromEnv({ TELEGRAM_DC: '127.0.0.1:1' })).toThrow(
      /TELEGRAM_RSA_PUBLIC_KEY/,
    );
    expect(() => parseDcAddress('127.0.0.1:40000')).toThrow(/32767/);
    expect(() => parseDcAddress('nope')).toThrow(/host:port/);
  });
});

describe('GramJS wiring', () => {
  it('registers the RSA key under the same fingerprint the server uses', () => {
    const fp = registerRsaPublicKey(keys.publicKeyPem);
    expect(fp).toBe(keys.fingerprint);
    expect(rsaPublicKeyFingerprint(keys.publicKeyPem)).toBe(server.fingerprint);
    expect(_serverKeys.get(fp)?.e).toBe(65537);
  });

  it('pinned connection classes ignore the ip/port GramJS passes', () => {
    const Pinned = pinnedConnectionClass('127.0.0.9', 1234);
    const c = new Pinned({
      ip: '149.154.167.51',
      port: 443,
      dcId: 2,
      loggers: undefined as never,
      socket: class {} as never,
      testServers: false,
    });
    expect([c._ip, c._port]).toEqual(['127.0.0.9', 1234]);
  });

  it('createTelegramClient connects to the configured DC (port ≠ 80/443) and saves its address in the StringSession', async () => {
    const target = telegramTargetFromEnv({
      TELEGRAM_DC: `127.0.0.1:${server.port}`,
      TELEGRAM_RSA_PUBLIC_KEY: keys.publicKeyPem,
    });
    const client = createTelegramClient({ ...target, logLevel: 'none' });
    try {
      await client.connect();
      const config = await client.invoke(new Api.help.GetConfig());
      expect(config.thisDc).toBe(2);
      const session = client.session as StringSession;
      expect([session.dcId, session.serverAddress, session.port]).toEqual([
        2,
        '127.0.0.1',
        server.port,
      ]);
      const saved = session.save();
      await client.destroy();
      const again = createTelegramClient({ ...target, session: saved, logLevel: 'none' });
      try {
        await again.connect();
        expect((again.session as StringSession).port).toBe(server.port);
        await again.invoke(new Api.help.GetConfig());
        expect(server.counters.authKeysCreated).toBe(1);
      } finally {
        await again.destroy();
      }
    } finally {
      await client.destroy().catch(() => {});
    }
  });
});
