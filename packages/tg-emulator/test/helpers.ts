/**
 * Test helpers: start an emulator and log real GramJS clients into it.
 */
import { createTelegramClient, type TelegramClient } from '@tgbridge/telegram';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/index.js';

/** Starts an emulator (no HTTP control server unless asked). */
export function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ controlPort: null, ...opts });
}

/** A GramJS client for `emu` (not connected). */
export function client(emu: RunningEmulator, session = ''): TelegramClient {
  return createTelegramClient({
    dc: { host: '127.0.0.1', port: emu.port, dcId: emu.dcId },
    rsaPublicKeyPem: emu.publicKeyPem,
    apiId: 12345,
    apiHash: '0123456789abcdef0123456789abcdef',
    session,
    connectionRetries: 3,
    retryDelayMs: 200,
    logLevel: 'none',
  });
}

/** Logs `phone` in with the code read from the control API; returns the connected client. */
export async function login(
  emu: RunningEmulator,
  phone: string,
  password?: string,
): Promise<TelegramClient> {
  const c = client(emu);
  await c.start({
    phoneNumber: phone,
    phoneCode: async () => emu.control.lastCode(phone)!.code,
    password: password === undefined ? undefined : async () => password,
    onError: (e) => {
      throw e;
    },
  });
  return c;
}

/** Resolves when `check` returns true (polls every 20 ms), rejects after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Disconnects clients, ignoring errors. */
export async function closeAll(...clients: Array<TelegramClient | undefined>): Promise<void> {
  for (const c of clients) {
    if (!c) continue;
    try {
      await c.destroy();
    } catch {
      // already gone
    }
  }
}
