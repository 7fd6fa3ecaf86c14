/**
 * Test harness: the Telegram emulator in-process, auth replicas and a
 * gateway on real NATS and MongoDB-wire (from test/global-setup.ts), with
 * every log line captured for secret checks.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '@tgbridge/platform/logging';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '@tgbridge/tg-emulator';
import { createAuthService, type AuthService } from '../src/app.js';
import { loadAuthConfig } from '../src/config.js';

/** Lines written by loggers made with {@link captureLogger}. */
export class LogCapture {
  readonly lines: string[] = [];
  /** Everything captured, one string. */
  text(): string {
    return this.lines.join('');
  }
}

/** A debug-level platform logger writing into every capture given. */
export function captureLogger(capture: LogCapture | LogCapture[], service: string): Logger {
  const captures = Array.isArray(capture) ? capture : [capture];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const c of captures) c.lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return createLogger({ service, level: 'debug', destination });
}

/** A fresh keyring spec `k1:<32 random bytes, base64>`. */
export function keySpec(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}

/** Starts the emulator with short TTLs suited to tests. */
export function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ controlPort: null, ...opts });
}

/** Common environment of an auth replica. */
export interface AuthEnv {
  natsUrl: string;
  mongoUrl: string;
  keys: string;
  port?: number;
  extra?: Record<string, string>;
}

/** Starts one auth replica against `emu`. */
export async function startAuth(
  emu: RunningEmulator,
  env: AuthEnv,
  logger: Logger,
): Promise<AuthService> {
  const config = loadAuthConfig({
    NATS_URL: env.natsUrl,
    MONGO_URL: env.mongoUrl,
    SESSION_ENCRYPTION_KEYS: env.keys,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(env.port ?? 0),
    LOGIN_SWEEP_INTERVAL_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...env.extra,
  });
  const auth = createAuthService(config, {
    logger,
    ensureStream: false,
    metricsServer: false,
    telegram: {
      dc: { host: emu.host, port: emu.port, dcId: emu.dcId },
      rsaPublicKeyPem: emu.publicKeyPem,
      apiId: 1,
      apiHash: '0123456789abcdef0123456789abcdef',
    },
  });
  await auth.start();
  return auth;
}

/** Polls `fn` until it returns a truthy value. @throws after `timeoutMs` */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
