/**
 * Test harness for the connector: an in-process Telegram emulator, accounts
 * logged in directly with GramJS, session documents written like the auth
 * service writes them (sealed session string), connector shards as separate
 * processes (`node --import tsx src/main.ts`), and an event collector on the
 * stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type mongoose from 'mongoose';
import { Api } from 'telegram';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import { Keyring } from '@tgbridge/platform/crypto';
import { sessionModel } from '@tgbridge/sessions';
import { createTelegramClient } from '@tgbridge/telegram';
import { startEmulator, type RunningEmulator } from '@tgbridge/tg-emulator';
import { Event } from '@tgbridge/proto/events/v1/events';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = join(here, '..', '..', '..');

/** A fresh 32-byte key spec for SESSION_ENCRYPTION_KEYS. */
export function keySpec(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}

/** An account logged in through GramJS against the emulator. */
export interface Account {
  phone: string;
  userId: number;
  firstName: string;
  session: string;
  authKeyId: string;
}

/** Logs a user in by phone code and returns its StringSession text. */
export async function login(
  emu: RunningEmulator,
  phone: string,
  firstName: string,
): Promise<Account> {
  const info = emu.control.createUser({ phone, firstName });
  const client = createTelegramClient({
    dc: { host: emu.host, port: emu.port, dcId: emu.dcId },
    rsaPublicKeyPem: emu.publicKeyPem,
    apiId: 1,
    apiHash: 'x',
    logLevel: 'none',
  });
  await client.connect();
  const sent = (await client.invoke(
    new Api.auth.SendCode({
      phoneNumber: phone,
      apiId: 1,
      apiHash: 'x',
      settings: new Api.CodeSettings({}),
    }),
  )) as Api.auth.SentCode;
  const code = emu.control.lastCode(phone)!.code;
  await client.invoke(
    new Api.auth.SignIn({ phoneNumber: phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: code }),
  );
  const session = (client.session as unknown as { save(): string }).save();
  await client.destroy();
  const key = emu.control.authKeys(phone).at(-1)!;
  return { phone, userId: info.id, firstName, session, authKeyId: key.id };
}

/** Writes a `connected` session document like the auth service does. Returns the session id. */
export async function writeSession(
  db: mongoose.Connection,
  keys: string,
  acc: Account,
  tenantId: string,
  agentId: string,
): Promise<string> {
  const id = randomUUID();
  const keyring = Keyring.fromEnv(keys);
  await sessionModel(db).create({
    _id: id,
    tenantId,
    agentId,
    status: 'connected',
    method: 'phone',
    phone: acc.phone,
    telegramUser: { id: String(acc.userId), phone: acc.phone, firstName: acc.firstName },
    sessionSecret: keyring.seal(acc.session, id),
    eventSequence: 0,
  });
  return id;
}

/** A connector shard child process. */
export interface Shard {
  id: string;
  proc: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** Starts a shard process with test-friendly (short) timings. */
export function startShard(id: string, env: Record<string, string>): Shard {
  const output: string[] = [];
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'services/connector/src/main.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        SHARD_ID: id,
        LOG_LEVEL: 'info',
        METRICS_PORT: '0',
        MEMBERSHIP_TTL_MS: '3000',
        HEARTBEAT_INTERVAL_MS: '700',
        LEASE_TTL_MS: '4000',
        LEASE_REFRESH_INTERVAL_MS: '1000',
        PLACEMENT_INTERVAL_MS: '500',
        RECONCILE_INTERVAL_MS: '2000',
        STATE_FLUSH_INTERVAL_MS: '300',
        KEEPALIVE_INTERVAL_MS: '2000',
        REQUEST_TIMEOUT_MS: '5000',
        RECONNECT_BASE_MS: '300',
        RECONNECT_MAX_MS: '3000',
        CONNECTION_EVENT_DEBOUNCE_MS: '200',
        FLOOD_WAIT_MAX_SLEEP_S: '2',
        SHUTDOWN_TIMEOUT_MS: '8000',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (b: Buffer): void => {
    output.push(b.toString());
    if (output.length > 500) output.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { id, proc, output, exited };
}

/** Sends SIGTERM and waits for exit. */
export async function stopShard(s: Shard): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGTERM');
  await s.exited;
}

/** Collects every event of a tenant from the stream (ordered consumer). */
export class EventLog {
  readonly events: Event[] = [];
  private constructor(private readonly nc: NatsConnection) {}

  static async open(natsUrl: string, stream: string, tenantId: string): Promise<EventLog> {
    const nc = await connect({ servers: natsUrl });
    const log = new EventLog(nc);
    const js = jetstream(nc);
    // Shards create the stream once started; three cold tsx processes on a
    // loaded 2-core machine can take well over 20 s, so wait by deadline.
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        const c = await js.consumers.get(stream, {
          filter_subjects: [`tg.evt.${tenantId}.>`],
          deliver_policy: DeliverPolicy.All,
        });
        const msgs = await c.consume();
        void (async () => {
          for await (const m of msgs) log.events.push(Event.fromJSON(m.json()));
        })();
        return log;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Events of one session (optionally one type). */
  of(sessionId: string, type?: string): Event[] {
    return this.events.filter((e) => e.sessionId === sessionId && (!type || e.type === type));
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Starts the emulator in-process. */
export async function emulator(): Promise<RunningEmulator> {
  return startEmulator({ controlPort: null });
}
