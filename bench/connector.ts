/**
 * Connector benchmark (prints figures; not a timed test):
 *   npx tsx bench/connector.ts     (BENCH_SESSIONS=1000 BENCH_MESSAGES=20000 to change)
 *
 * Against real NATS + MongoDB-wire (packages/testinfra) and an in-process
 * emulator. Authorized sessions are minted directly in the emulator's key
 * table (no DH per account), written to MongoDB like the auth service does,
 * then connector shards run as child processes with production defaults
 * except where noted. Reports: restore time for N sessions (first start and
 * restart), shard RSS and MB/session, events/s (messages pushed by the
 * emulator → new_message acknowledged on the stream), failover time of a
 * SIGKILLed shard (membership TTL 10 s, lease TTL 15 s). The emulator shares
 * the machine (and this process's CPU) with the shards, so throughput figures
 * are lower bounds.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mongoose from 'mongoose';
import { connect } from '@nats-io/transport-node';
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import { Keyring } from '@tgbridge/platform/crypto';
import { sessionModel } from '@tgbridge/sessions';
import { startInfra, uniqueName } from '@tgbridge/testinfra';
import { Event } from '@tgbridge/proto/events/v1/events';
import { startEmulator } from '../packages/tg-emulator/src/index.js';
import { startShard, stopShard, type Shard } from '../services/connector/test/harness.js';

const N = Number(process.env.BENCH_SESSIONS ?? 1000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20000);

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/** A GramJS StringSession text for (dc, host, port, key). */
function stringSession(dcId: number, host: string, port: number, key: Buffer): string {
  const addr = Buffer.from(host);
  const len = Buffer.alloc(2);
  len.writeInt16BE(addr.length);
  const p = Buffer.alloc(2);
  p.writeInt16BE(port);
  return `1${Buffer.concat([Buffer.from([dcId]), len, addr, p, key]).toString('base64')}`;
}

async function main(): Promise<void> {
  const infra = await startInfra();
  const emu = await startEmulator({ controlPort: null });
  const sender = emu.control.createUser({ phone: '+19990000000', firstName: 'Sender' });
  const keys = `k1:${randomBytes(32).toString('base64')}`;
  const keyring = Keyring.fromEnv(keys);
  const dbUrl = `${infra.mongoUrl.replace(/\/$/, '')}/${uniqueName('bench')}`;
  const db = await mongoose.createConnection(dbUrl).asPromise();
  const users: number[] = [];
  const docs = [];
  for (let i = 0; i < N; i++) {
    const u = emu.control.createUser({
      phone: `+1888${String(i).padStart(7, '0')}`,
      firstName: `A${i}`,
    });
    users.push(u.id);
    const key = randomBytes(256);
    const id = createHash('sha1')
      .update(key)
      .digest()
      .subarray(12, 20)
      .readBigInt64LE(0)
      .toString();
    emu.server.authKeys.add({ id, key, createdAt: Math.floor(Date.now() / 1000), userId: u.id });
    const sid = randomUUID();
    docs.push({
      _id: sid,
      tenantId: 'bench',
      agentId: `a${i}`,
      status: 'connected',
      method: 'phone',
      telegramUser: { id: String(u.id) },
      sessionSecret: keyring.seal(stringSession(emu.dcId, emu.host, emu.port, key), sid),
      eventSequence: 0,
    });
  }
  await sessionModel(db).insertMany(docs);
  const stream = uniqueName('BENCHEVT');
  const env = {
    NATS_URL: infra.natsUrl,
    MONGO_URL: dbUrl,
    SESSION_ENCRYPTION_KEYS: keys,
    TELEGRAM_DC: `${emu.host}:${emu.port}/${emu.dcId}`,
    TELEGRAM_RSA_PUBLIC_KEY: emu.publicKeyPem,
    EVENTS_STREAM: stream,
    SHARDS_BUCKET: uniqueName('bshards'),
    LEASES_BUCKET: uniqueName('bleases'),
    LOG_LEVEL: 'warn',
    START_CONCURRENCY: '32',
    // production timings for the failover figure
    MEMBERSHIP_TTL_MS: '10000',
    HEARTBEAT_INTERVAL_MS: '3000',
    LEASE_TTL_MS: '15000',
    LEASE_REFRESH_INTERVAL_MS: '4000',
    PLACEMENT_INTERVAL_MS: '2000',
    KEEPALIVE_INTERVAL_MS: '60000',
    RECONCILE_INTERVAL_MS: '30000',
    STATE_FLUSH_INTERVAL_MS: '1000',
  };
  const nc = await connect({ servers: infra.natsUrl });
  const js = jetstream(nc);
  const counts = { connected: 0, newMessage: 0 };
  const connectedBy = new Map<string, number>();
  const startCollector = async (): Promise<void> => {
    for (let i = 0; ; i++) {
      try {
        const c = await js.consumers.get(stream, {
          filter_subjects: ['tg.evt.bench.>'],
          deliver_policy: DeliverPolicy.New,
          headers_only: false,
        });
        const msgs = await c.consume();
        void (async () => {
          for await (const m of msgs) {
            const e = Event.fromJSON(m.json());
            if (e.type === 'session_connected') {
              counts.connected++;
              connectedBy.set(e.sessionId, Date.now());
            } else if (e.type === 'new_message') counts.newMessage++;
          }
        })();
        return;
      } catch {
        if (i > 200) throw new Error('stream never appeared');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const waitUntil = async (fn: () => boolean, timeoutMs: number): Promise<boolean> => {
    const end = Date.now() + timeoutMs;
    while (!fn() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return fn();
  };

  console.log(`connector benchmark: ${N} sessions, ${MESSAGES} messages (emulator in-process)`);
  // 1. first start: restore N sessions
  let t0 = Date.now();
  let shard: Shard = startShard('bench-0', env);
  await startCollector();
  const since = (t: number): number => [...connectedBy.values()].filter((x) => x >= t).length;
  const ok1 = await waitUntil(() => since(t0) >= N, 120_000);
  if (!ok1) {
    const lines = shard.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('"msg"'));
    const tally = new Map<string, number>();
    for (const l of lines) {
      const k =
        (/"msg":"([^"]*)"/.exec(l)?.[1] ?? '') + ' ' + (/"message":"([^"]*)"/.exec(l)?.[1] ?? '');
      tally.set(k, (tally.get(k) ?? 0) + 1);
    }
    console.log('shard log summary (last lines):', [...tally.entries()].slice(0, 20));
  }
  const firstStart = (Date.now() - t0) / 1000;
  console.log(
    `restore (first start, incl. process start): ${counts.connected}/${N} sessions in ${firstStart.toFixed(1)} s${ok1 ? '' : ' (TIMEOUT)'}`,
  );
  await new Promise((r) => setTimeout(r, 3000));
  const rss = rssMb(shard.proc.pid!);
  console.log(
    `shard RSS with ${N} live sessions: ${rss.toFixed(0)} MB (${(rss / N).toFixed(2)} MB/session incl. the ~100 MB runtime)`,
  );

  // 2. events/s
  const before = counts.newMessage;
  t0 = Date.now();
  for (let i = 0; i < MESSAGES; i++) {
    emu.control.sendMessage({ from: sender.id, to: { user: users[i % N]! }, text: `bench ${i}` });
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  const pushed = (Date.now() - t0) / 1000;
  const ok2 = await waitUntil(() => counts.newMessage - before >= MESSAGES, 300_000);
  const took = (Date.now() - t0) / 1000;
  console.log(
    `events: ${counts.newMessage - before}/${MESSAGES} new_message acknowledged in ${took.toFixed(1)} s = ${((counts.newMessage - before) / took).toFixed(0)} events/s per shard (emulator push took ${pushed.toFixed(1)} s)${ok2 ? '' : ' (TIMEOUT)'}`,
  );

  // 3. restart: SIGTERM, start again
  await stopShard(shard);
  counts.connected = 0;
  t0 = Date.now();
  shard = startShard('bench-0', env);
  const ok3 = await waitUntil(() => since(t0) >= N, 180_000);
  if (!ok3) console.log(shard.output.join('').slice(-3000));
  console.log(
    `restore after restart (incl. process start): ${counts.connected}/${N} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s${ok3 ? '' : ' (TIMEOUT)'}`,
  );

  // 4. failover: second shard joins, then the first is SIGKILLed
  const shard1 = startShard('bench-1', env);
  await new Promise((r) => setTimeout(r, 15_000));
  const killedAt = Date.now();
  shard.proc.kill('SIGKILL');
  await shard.exited;
  // sessions of bench-0 reconnect on bench-1: wait for the count to settle
  let last = -1;
  while (last !== since(killedAt) || since(killedAt) === 0) {
    last = since(killedAt);
    await new Promise((r) => setTimeout(r, 5000));
    if (Date.now() - killedAt > 120_000) break;
  }
  const times = [...connectedBy.values()]
    .filter((t) => t >= killedAt)
    .map((t) => t - killedAt)
    .sort((a, b) => a - b);
  console.log(
    `failover of a SIGKILLed shard: ${times.length} sessions moved; first after ${((times[0] ?? NaN) / 1000).toFixed(1)} s, last after ${((times.at(-1) ?? NaN) / 1000).toFixed(1)} s (lease TTL 15 s)`,
  );
  console.log(`emulator AUTH_KEY_DUPLICATED: ${emu.control.counters().authKeyDuplicated}`);

  await stopShard(shard1);
  await nc.close();
  await db.close();
  await emu.stop();
  await infra.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
