/**
 * Opens GramJS clients the way the connector needs them, working around
 * GramJS's reconnect and caching behaviour:
 *
 * - GramJS's own update loop (one 9 s ping timer per client) is not started;
 *   the connector's shared scheduler checks links instead.
 * - Its entity caches (which grow without bound) are disabled; the connector
 *   keeps a bounded {@link PeerCache} per session.
 * - Raw `Updates` go straight to `onUpdates` (GramJS ignores pts; the
 *   connector does its own gap recovery, https://core.telegram.org/api/updates).
 * - GramJS's internal reconnect (which can resurrect a connection after
 *   `disconnect()`, and loses handlers) is replaced by `onDrop`: the caller
 *   `destroy()`s the client and opens a new one with its own backoff.
 * - 64-bit integers are read natively (see {@link patchLongReads}).
 */
import type { Api } from 'telegram';
import bigInt from 'big-integer';
import { createTelegramClient, type TelegramClient, type TelegramTarget } from '@tgbridge/telegram';
import { UpdateConnectionState } from 'telegram/network/index.js';
import { BinaryReader } from 'telegram/extensions/index.js';

interface ReaderInternals {
  stream: Buffer;
  offset: number;
  readLargeInt(bits: number, signed?: boolean): bigInt.BigInteger;
}

/**
 * GramJS reads every 64-bit TL `long` (ids, access hashes, message ids) by
 * formatting the bytes as hex, parsing that into a big-integer and, when
 * signed, printing it in binary to test the sign: ~30 µs per long, the
 * largest single cost of a shard under a burst of updates. Reading the
 * little-endian 64-bit integer natively gives the same value (the same
 * big-integer type) in well under a microsecond. Other widths (int128,
 * int256 of the handshake) keep GramJS's code.
 */
function patchLongReads(): void {
  const proto = BinaryReader.prototype as unknown as ReaderInternals;
  const original = proto.readLargeInt;
  proto.readLargeInt = function (this: ReaderInternals, bits: number, signed = true) {
    if (bits !== 64) return original.call(this, bits, signed);
    const v = signed
      ? this.stream.readBigInt64LE(this.offset)
      : this.stream.readBigUInt64LE(this.offset);
    this.offset += 8;
    return bigInt(v);
  };
}
patchLongReads();

/** Callbacks of an open client. */
export interface ClientHooks {
  /** A raw Updates object (updates, updatesCombined, updateShort*, updatesTooLong). */
  onUpdates(u: Api.TypeUpdates): void;
  /** The link broke (socket closed, transport error, bad auth key). */
  onDrop(reason: string): void;
}

interface GramInternals {
  _loopStarted: boolean;
  _entityCache: { add(x: unknown): void; get(x: unknown): unknown };
  _sender?: { _updateCallback: (client: unknown, u: unknown) => void; reconnect: () => void };
  session: { processEntities(x: unknown): void };
}

/**
 * Creates, patches and connects a client for a saved StringSession.
 * @throws Error when the connection cannot be established
 */
export async function openClient(
  target: TelegramTarget,
  session: string,
  hooks: ClientHooks,
): Promise<TelegramClient> {
  const client = createTelegramClient({
    ...target,
    session,
    connectionRetries: 1,
    reconnectRetries: 0,
    retryDelayMs: 100,
    requestRetries: 1,
    floodSleepThreshold: 0,
    autoReconnect: false,
    logLevel: 'none',
    deviceModel: 'tgbridge',
    appVersion: '0.1.0',
  });
  const g = client as unknown as GramInternals;
  g._loopStarted = true;
  g._entityCache = { add: () => {}, get: () => undefined };
  g.session.processEntities = () => {};
  let ok: boolean | undefined;
  try {
    ok = (await client.connect()) as unknown as boolean | undefined;
  } catch (e) {
    await destroyClient(client);
    throw e;
  }
  const sender = g._sender;
  if (ok === false || !sender || !client.connected) {
    await destroyClient(client);
    throw new Error('connection to Telegram failed');
  }
  sender._updateCallback = (_c, u) => {
    if (u instanceof UpdateConnectionState) {
      if (u.state === UpdateConnectionState.broken) hooks.onDrop('broken');
      else if (u.state === UpdateConnectionState.disconnected) hooks.onDrop('network');
      return;
    }
    hooks.onUpdates(u as Api.TypeUpdates);
  };
  sender.reconnect = () => hooks.onDrop('network');
  return client;
}

/** Destroys a client (disconnects every sender, stops its loops); never throws, never waits more than 3 s. */
export async function destroyClient(client: TelegramClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([destroyNow(client), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
}

async function destroyNow(client: TelegramClient): Promise<void> {
  const g = client as unknown as GramInternals;
  if (g._sender) {
    g._sender._updateCallback = () => {};
    g._sender.reconnect = () => {};
  }
  try {
    await client.destroy();
  } catch {
    // already closed
  }
}
