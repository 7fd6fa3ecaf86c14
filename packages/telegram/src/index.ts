/**
 * @tgbridge/telegram — creates GramJS `TelegramClient`s pointed either at a
 * configured DC (the tgbridge Telegram emulator, or any MTProto server with
 * its own RSA key) or at real Telegram.
 *
 * Environment (see {@link telegramTargetFromEnv}):
 * - `TELEGRAM_DC=127.0.0.1:10443` (optionally `host:port/dcId`) and
 *   `TELEGRAM_RSA_PUBLIC_KEY` (PEM text or a path to a PEM file): use that DC;
 * - neither: real Telegram; then `TELEGRAM_API_ID` and `TELEGRAM_API_HASH` are required.
 */
import { existsSync, readFileSync } from 'node:fs';
import { TelegramClient } from 'telegram';
import type { LogLevel } from 'telegram/extensions/Logger.js';
import { Logger } from 'telegram/extensions/Logger.js';
import { StringSession } from 'telegram/sessions/index.js';
import {
  baseConnectionClass,
  pinnedConnectionClass,
  type TelegramTransport,
} from './connection.js';
import { registerRsaPublicKey } from './rsa.js';

export { registerRsaPublicKey, rsaPublicKeyFingerprint } from './rsa.js';
export {
  baseConnectionClass,
  pinnedConnectionClass,
  type TelegramTransport,
} from './connection.js';
export { StringSession, TelegramClient };

/** A DC address. */
export interface DcEndpoint {
  /** Host name or IPv4 address. */
  host: string;
  /** TCP port, 1..32767 (StringSession stores ports as signed 16-bit). */
  port: number;
  /** DC id the endpoint plays (default 2, the emulator's default). */
  dcId?: number;
}

/** Where and as which app a client connects. */
export interface TelegramTarget {
  /** A custom DC (the emulator). Undefined = real Telegram. */
  dc?: DcEndpoint;
  /** PEM of the custom DC's RSA public key; required with `dc`. */
  rsaPublicKeyPem?: string;
  /** Telegram api_id (my.telegram.org). The emulator accepts any. */
  apiId: number;
  /** Telegram api_hash. The emulator accepts any. */
  apiHash: string;
}

/** Options of {@link createTelegramClient}. */
export interface TelegramClientOptions extends TelegramTarget {
  /** A saved StringSession (text) or a StringSession instance; default a new empty session. */
  session?: string | StringSession;
  /** Transport framing; default `full` (GramJS's default). */
  transport?: TelegramTransport;
  /** Connection attempts before giving up on connect(); default 5. */
  connectionRetries?: number;
  /** Reconnect attempts after a drop; default Infinity. */
  reconnectRetries?: number;
  /** Delay between connection attempts, ms; default 1000. */
  retryDelayMs?: number;
  /** Attempts per request (on FLOOD_WAIT below the threshold, 5xx, migrations); default 5. */
  requestRetries?: number;
  /** Sleep automatically on FLOOD_WAIT of up to this many seconds; default 0 (always throw FloodWaitError). */
  floodSleepThreshold?: number;
  /** Reconnect automatically when the connection drops; default true. */
  autoReconnect?: boolean;
  /** GramJS log level; default `error`. */
  logLevel?: LogLevel | 'none' | 'error' | 'warn' | 'info' | 'debug';
  /** initConnection fields. */
  deviceModel?: string;
  systemVersion?: string;
  appVersion?: string;
  langCode?: string;
}

/** Default DC id of a configured endpoint (the emulator's default). */
export const DEFAULT_DC_ID = 2;

/**
 * Parses `host:port` or `host:port/dcId`.
 * @throws Error on a malformed value or a port outside 1..32767.
 */
export function parseDcAddress(value: string): DcEndpoint {
  const m = /^\s*(\[[^\]]+\]|[^:/\s]+):(\d+)(?:\/(\d+))?\s*$/.exec(value);
  if (!m)
    throw new Error(
      `TELEGRAM_DC must look like host:port or host:port/dcId, got ${JSON.stringify(value)}`,
    );
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 32767))
    throw new Error(`TELEGRAM_DC port must be 1..32767 (StringSession limit), got ${port}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port, dcId: m[3] ? Number(m[3]) : DEFAULT_DC_ID };
}

/** Reads a PEM given as text or as a path to a file. @throws Error when neither. */
function readPem(value: string): string {
  if (value.includes('-----BEGIN')) return value.replace(/\\n/g, '\n');
  if (existsSync(value)) return readFileSync(value, 'utf8');
  throw new Error('TELEGRAM_RSA_PUBLIC_KEY must be PEM text or the path of a PEM file');
}

/**
 * Builds a {@link TelegramTarget} from the environment.
 * - `TELEGRAM_DC` + `TELEGRAM_RSA_PUBLIC_KEY` → that DC; `TELEGRAM_API_ID`/`TELEGRAM_API_HASH`
 *   are optional (defaults 1 / 32 zeros).
 * - neither → real Telegram; `TELEGRAM_API_ID` (integer) and `TELEGRAM_API_HASH` are required.
 * @throws Error when only one of TELEGRAM_DC / TELEGRAM_RSA_PUBLIC_KEY is set, when a value is
 *   malformed, or when real Telegram is targeted without api credentials.
 */
export function telegramTargetFromEnv(
  env: Record<string, string | undefined> = process.env,
): TelegramTarget {
  const dc = env.TELEGRAM_DC?.trim();
  const key = env.TELEGRAM_RSA_PUBLIC_KEY?.trim();
  const apiIdText = env.TELEGRAM_API_ID?.trim();
  const apiHash = env.TELEGRAM_API_HASH?.trim();
  const apiId = apiIdText ? Number(apiIdText) : undefined;
  if (apiIdText && !Number.isInteger(apiId))
    throw new Error(`TELEGRAM_API_ID must be an integer, got ${JSON.stringify(apiIdText)}`);
  if (dc || key) {
    if (!dc)
      throw new Error(
        'TELEGRAM_RSA_PUBLIC_KEY is set but TELEGRAM_DC is not (both are needed for a custom DC)',
      );
    if (!key)
      throw new Error(
        'TELEGRAM_DC is set but TELEGRAM_RSA_PUBLIC_KEY is not (both are needed for a custom DC)',
      );
    return {
      dc: parseDcAddress(dc),
      rsaPublicKeyPem: readPem(key),
      apiId: apiId ?? 1,
      apiHash: apiHash || '0'.repeat(32),
    };
  }
  if (apiId === undefined || !apiHash) {
    throw new Error(
      'real Telegram needs TELEGRAM_API_ID and TELEGRAM_API_HASH (or set TELEGRAM_DC and TELEGRAM_RSA_PUBLIC_KEY for the emulator)',
    );
  }
  return { apiId, apiHash };
}

/**
 * Creates (does not connect) a GramJS `TelegramClient`. With `dc` set, the
 * DC's RSA key is registered in GramJS's key table, the session's DC address
 * is set to `dc` (so a saved StringSession carries it) and every connection —
 * main, file transfer, reconnects — dials `dc.host:dc.port`.
 * @throws Error when `dc` is set without `rsaPublicKeyPem`, or the port is outside 1..32767.
 */
export function createTelegramClient(opts: TelegramClientOptions): TelegramClient {
  const session =
    typeof opts.session === 'string' || opts.session === undefined
      ? new StringSession(opts.session ?? '')
      : opts.session;
  let connection = baseConnectionClass(opts.transport);
  if (opts.dc) {
    if (!opts.rsaPublicKeyPem)
      throw new Error('createTelegramClient: rsaPublicKeyPem is required with dc');
    if (!(opts.dc.port >= 1 && opts.dc.port <= 32767))
      throw new Error(`createTelegramClient: port must be 1..32767, got ${opts.dc.port}`);
    registerRsaPublicKey(opts.rsaPublicKeyPem);
    const dcId = session.dcId || opts.dc.dcId || DEFAULT_DC_ID;
    session.setDC(dcId, opts.dc.host, opts.dc.port);
    connection = pinnedConnectionClass(opts.dc.host, opts.dc.port, opts.transport);
  }
  const level = (opts.logLevel ?? 'error') as LogLevel;
  return new TelegramClient(session, opts.apiId, opts.apiHash, {
    connection,
    connectionRetries: opts.connectionRetries ?? 5,
    reconnectRetries: opts.reconnectRetries ?? Infinity,
    retryDelay: opts.retryDelayMs ?? 1000,
    requestRetries: opts.requestRetries ?? 5,
    floodSleepThreshold: opts.floodSleepThreshold ?? 0,
    autoReconnect: opts.autoReconnect ?? true,
    baseLogger: new Logger(level),
    ...(opts.deviceModel !== undefined ? { deviceModel: opts.deviceModel } : {}),
    ...(opts.systemVersion !== undefined ? { systemVersion: opts.systemVersion } : {}),
    ...(opts.appVersion !== undefined ? { appVersion: opts.appVersion } : {}),
    ...(opts.langCode !== undefined ? { langCode: opts.langCode } : {}),
  });
}
