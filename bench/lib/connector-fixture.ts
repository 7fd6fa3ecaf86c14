/**
 * Cheap authorized sessions for the connector benchmark: for each account a
 * user is created through the emulator's control API (`POST /users`), a
 * random 256-byte auth key is bound to it with the test-only
 * `POST /auth-keys` hook (as if a DH exchange and a login had happened), and
 * a GramJS StringSession for that key is sealed with the platform Keyring and
 * written as a `connected` session document with an initial update state,
 * like the auth service does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type mongoose from 'mongoose';
import { Keyring } from '@tgbridge/platform/crypto';
import { sessionModel } from '@tgbridge/sessions';
import { controlCall, mapPool } from './control-client.js';

/** The emulator's MTProto address. */
export interface DcAddress {
  host: string;
  port: number;
  dcId: number;
}

/** One minted session. */
export interface MintedSession {
  sessionId: string;
  userId: number;
  phone: string;
}

/**
 * A GramJS StringSession text (version `1`, then base64 of dc id (1 byte),
 * address length (int16 BE), address, port (int16 BE), 256-byte auth key).
 */
export function stringSession(dc: DcAddress, key: Buffer): string {
  const addr = Buffer.from(dc.host);
  const len = Buffer.alloc(2);
  len.writeInt16BE(addr.length);
  const port = Buffer.alloc(2);
  port.writeInt16BE(dc.port);
  return `1${Buffer.concat([Buffer.from([dc.dcId]), len, addr, port, key]).toString('base64')}`;
}

/**
 * Creates `n` accounts with imported auth keys and inserts their session
 * documents (tenant `tenantId`, agents `a<i>`). Phones are `+1888<7 digits>`
 * from `phoneBase`.
 * @throws when the control API or MongoDB fails
 */
export async function mintSessions(opts: {
  controlUrl: string;
  dc: DcAddress;
  db: mongoose.Connection;
  keys: string;
  tenantId: string;
  n: number;
  phoneBase?: number;
}): Promise<MintedSession[]> {
  const keyring = Keyring.fromEnv(opts.keys);
  const base = opts.phoneBase ?? 0;
  const docs: unknown[] = [];
  const out = await mapPool(
    Array.from({ length: opts.n }, (_, i) => i),
    16,
    async (i) => {
      const phone = `+1888${String(base + i).padStart(7, '0')}`;
      const user = await controlCall<{ id: number }>(opts.controlUrl, 'POST', '/users', {
        phone,
        firstName: `A${i}`,
      });
      const key = randomBytes(256);
      await controlCall(opts.controlUrl, 'POST', '/auth-keys', {
        key: key.toString('base64'),
        user: phone,
      });
      const sessionId = randomUUID();
      docs.push({
        _id: sessionId,
        tenantId: opts.tenantId,
        agentId: `a${i}`,
        status: 'connected',
        method: 'phone',
        phone,
        telegramUser: { id: String(user.id), phone, firstName: `A${i}` },
        sessionSecret: keyring.seal(stringSession(opts.dc, key), sessionId),
        // what auth stores at login (updates.getState): a new account's
        // common box starts at pts 1 in the emulator
        updateState: { pts: 1, qts: 0, date: Math.floor(Date.now() / 1000), seq: 0, channels: {} },
        eventSequence: 0,
      });
      return { sessionId, userId: user.id, phone };
    },
  );
  await sessionModel(opts.db).insertMany(docs);
  return out;
}
