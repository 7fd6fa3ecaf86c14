/**
 * Brings up N authorized, update-receiving raw MTProto connections to an
 * emulator: a sample does the real DH exchange and the real login
 * (auth.sendCode → code from the control API → auth.signIn); the rest get
 * keys through the control API's test-only `POST /auth-keys` hook. Every
 * connection then sends invokeWithLayer(initConnection(updates.getState)).
 */
import { randomBytes } from 'node:crypto';
import { Api } from 'telegram';
import { LAYER } from 'telegram/tl/AllTLObjects.js';
import { BinaryReader } from 'telegram/extensions/index.js';
import { controlCall, mapPool } from './control-client.js';
import { RawClient } from './raw-client.js';
import { exchangeAuthKey } from './raw-handshake.js';
import type { EmulatorProcess } from './emulator-process.js';

/** Wraps a request the way a fresh client does: invokeWithLayer(initConnection(query)). */
export function initWrapped(query: Api.AnyRequest): Buffer {
  return new Api.InvokeWithLayer({
    layer: LAYER,
    query: new Api.InitConnection({
      apiId: 1,
      deviceModel: 'bench',
      systemVersion: 'raw',
      appVersion: '1.0',
      systemLangCode: 'en',
      langPack: '',
      langCode: 'en',
      query,
    }),
  }).getBytes();
}

/** Figures of the set-up phase. */
export interface FleetStats {
  /** Real DH exchanges done, and their wall time in total, ms. */
  dhCount: number;
  dhMs: number;
  /** Wall time of the whole sample phase (exchanges in parallel, up to 8), ms. */
  sampleWallMs: number;
  /** Real logins (sendCode + signIn) done after those exchanges, total ms. */
  loginMs: number;
  /** Keys imported through the control hook, and the time for import + connect + getState, ms. */
  importedCount: number;
  importMs: number;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: timeout`)), ms).unref(),
    ),
  ]);

/**
 * Connects `phones.length` clients; the first `sample` of them with a real
 * DH exchange and login. Clients that fail are left out (counted by the caller).
 */
export async function bringUpFleet(
  emu: EmulatorProcess,
  phones: string[],
  sample: number,
  concurrency: number,
): Promise<{ clients: RawClient[]; stats: FleetStats; failures: string[] }> {
  const failures: string[] = [];
  const clients: RawClient[] = [];
  const getState = initWrapped(new Api.updates.GetState());
  const real = phones.slice(0, sample);
  const rest = phones.slice(sample);
  let dhMs = 0;
  let loginMs = 0;
  const t00 = performance.now();
  // Sample: real DH exchange + real login, a few in parallel (server-side DH is CPU bound).
  await mapPool(real, Math.min(concurrency, 8), async (phone) => {
    try {
      const c = await RawClient.connect('127.0.0.1', emu.port);
      const t0 = performance.now();
      const k = await withTimeout(
        exchangeAuthKey(c, emu.publicKeyPem, emu.fingerprint, emu.dcId),
        30_000,
        'DH',
      );
      dhMs += performance.now() - t0;
      c.useKey(k.key);
      c.useSalt(k.salt);
      const t1 = performance.now();
      const sent = new BinaryReader(
        await c.call(
          initWrapped(
            new Api.auth.SendCode({
              phoneNumber: phone,
              apiId: 1,
              apiHash: 'bench',
              settings: new Api.CodeSettings({}),
            }),
          ),
        ),
      ).tgReadObject() as Api.auth.SentCode;
      const code = await controlCall<{ code: string }>(
        emu.controlUrl,
        'GET',
        `/codes/${encodeURIComponent(phone)}`,
      );
      await c.call(
        new Api.auth.SignIn({
          phoneNumber: phone,
          phoneCodeHash: sent.phoneCodeHash,
          phoneCode: code.code,
        }).getBytes(),
      );
      loginMs += performance.now() - t1;
      await withTimeout(c.call(getState), 30_000, 'getState');
      clients.push(c);
    } catch (e) {
      failures.push(`${phone}: ${(e as Error).message}`);
    }
  });
  const sampleWallMs = performance.now() - t00;
  const t2 = performance.now();
  await mapPool(rest, concurrency, async (phone) => {
    try {
      const key = randomBytes(256);
      await controlCall(emu.controlUrl, 'POST', '/auth-keys', {
        key: key.toString('base64'),
        user: phone,
      });
      const c = await RawClient.connect('127.0.0.1', emu.port);
      c.useKey(key);
      await withTimeout(c.call(getState), 30_000, 'getState');
      clients.push(c);
    } catch (e) {
      failures.push(`${phone}: ${(e as Error).message}`);
    }
  });
  return {
    clients,
    failures,
    stats: {
      dhCount: real.length,
      dhMs,
      sampleWallMs,
      loginMs,
      importedCount: rest.length,
      importMs: performance.now() - t2,
    },
  };
}
