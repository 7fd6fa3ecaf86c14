/**
 * Connector benchmark (prints figures; not a timed test):
 *
 *   npx tsx bench/connector.ts
 *   (env: BENCH_SESSIONS=1000, BENCH_MESSAGES=20000, BENCH_POSTS=20,
 *    BENCH_PHASES=restore,events,restart,failover,baseline, BENCH_START_CONCURRENCY,
 *    BENCH_TIMEOUT_S=180, BENCH_EVENTS_TIMEOUT_S=300, BENCH_SHARD_LOG=<file>, BENCH_LOG_LEVEL)
 *
 * Real NATS + MongoDB-wire (packages/testinfra); the emulator runs in its own
 * process (so its CPU is not the shard's). N authorized sessions are minted
 * cheaply (bench/lib/connector-fixture.ts: imported auth keys, sealed
 * StringSessions, session documents). Connector shards run as child
 * processes (`services/connector/src/main.ts`) with production timings.
 * Figures come from outside the shard: its `/metrics` (live sessions), the
 * stream's message count, and /proc (RSS, CPU time). Targets (issue 5):
 * ≥ 1,000 live sessions in ≤ 1 GiB RSS, restore after restart ≤ 30 s,
 * failover ≤ 15 s, ≥ 2,000 events/s per shard.
 *
 * Events are pushed two ways: direct messages (one control API request per
 * message) and supergroup posts (one request → an update for each of the N
 * sessions). The `baseline` phase then measures what the emulator itself
 * delivers for both patterns to raw MTProto clients, so a shard figure can be
 * read against the emulator's ceiling on the same machine at the same time.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import mongoose from 'mongoose';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startInfra, uniqueName } from '@tgbridge/testinfra';
import { sessionModel } from '@tgbridge/sessions';
import { startShard, stopShard, type Shard } from '../services/connector/test/harness.js';
import { controlCall, mapPool } from './lib/control-client.js';
import { mintSessions, type MintedSession } from './lib/connector-fixture.js';
import { startEmulatorProcess, type EmulatorProcess } from './lib/emulator-process.js';
import { bringUpFleet } from './lib/fleet.js';
import { directPhase, fanOutPhase, UpdateRecorder } from './lib/push-phase.js';
import { int, printTable } from './lib/report.js';
import {
  cpuSecondsOf,
  liveSessions,
  load,
  metricValue,
  rssOf,
  waitForCount,
} from './lib/shard-probe.js';

const env = process.env;
const N = Number(env.BENCH_SESSIONS ?? 1000);
const MESSAGES = Number(env.BENCH_MESSAGES ?? 20000);
const POSTS = Number(env.BENCH_POSTS ?? 20);
const PHASES = new Set((env.BENCH_PHASES ?? 'restore,events,restart,failover,baseline').split(','));
const TIMEOUT_MS = Number(env.BENCH_TIMEOUT_S ?? 180) * 1000;
const EVENTS_TIMEOUT_MS = Number(env.BENCH_EVENTS_TIMEOUT_S ?? 300) * 1000;
const rows: Array<[string, string, string?]> = [];
const note = (label: string, value: string, extra?: string): void => {
  rows.push([label, value, `${extra ? extra + '; ' : ''}load ${load()}`]);
  console.log(`${label}: ${value}${extra ? ` (${extra})` : ''} [load ${load()}]`);
};

/** With BENCH_SHARD_LOG=<file>: appends everything the shard prints to that file. */
function keepLog(shard: Shard): void {
  if (!env.BENCH_SHARD_LOG) return;
  const f = createWriteStream(env.BENCH_SHARD_LOG, { flags: 'a' });
  shard.proc.stdout!.on('data', (b: Buffer) => f.write(b));
  shard.proc.stderr!.on('data', (b: Buffer) => f.write(b));
}

/** Counts warn/error log lines of a shard by message (for a failed phase). */
function logSummary(shard: Shard): string {
  const tally = new Map<string, number>();
  for (const l of shard.output.join('').split('\n')) {
    if (!/"level":"(warn|error|fatal)"/.test(l)) continue;
    const k = `${/"msg":"([^"]*)"/.exec(l)?.[1] ?? ''} ${/"step":"([^"]*)"/.exec(l)?.[1] ?? ''} ${/"message":"([^"]*)"/.exec(l)?.[1] ?? ''}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
  }
  return [...tally.entries()].map(([k, v]) => `  ${v}× ${k}`).join('\n') || '  (none)';
}

async function main(): Promise<void> {
  console.log(`connector benchmark: ${N} sessions, ${MESSAGES} messages; load ${load()}`);
  const infra = await startInfra();
  const emu = await startEmulatorProcess({ main: 'packages/tg-emulator/src/main.ts' });
  const keys = `k1:${randomBytes(32).toString('base64')}`;
  const dbUrl = `${infra.mongoUrl.replace(/\/$/, '')}/${uniqueName('bench')}`;
  const db = await mongoose.createConnection(dbUrl).asPromise();
  const t = Date.now();
  const sessions = await mintSessions({
    controlUrl: emu.controlUrl,
    dc: { host: '127.0.0.1', port: emu.port, dcId: emu.dcId },
    db,
    keys,
    tenantId: 'bench',
    n: N,
  });
  console.log(`minted ${N} sessions in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const sender = await controlCall<{ id: number }>(emu.controlUrl, 'POST', '/users', {
    phone: '+19990000000',
    firstName: 'Sender',
  });
  // A supergroup of every account (the fan-out phases post into it).
  const { channelId } = await controlCall<{ channelId: number }>(
    emu.controlUrl,
    'POST',
    '/channels',
    {
      creator: '+19990000000',
      title: 'bench',
      members: sessions.map((x) => x.phone),
      megagroup: true,
    },
  );
  // The accounts are members from before their login: their stored state
  // knows the supergroup (from the pts before its creation message).
  await sessionModel(db).updateMany({}, { $set: { [`updateState.channels.${channelId}`]: 1 } });
  const stream = uniqueName('BENCHEVT');
  const shardEnv = (port: number): Record<string, string> => ({
    NATS_URL: infra.natsUrl,
    MONGO_URL: dbUrl,
    SESSION_ENCRYPTION_KEYS: keys,
    TELEGRAM_DC: `127.0.0.1:${emu.port}/${emu.dcId}`,
    TELEGRAM_RSA_PUBLIC_KEY: emu.publicKeyPem,
    EVENTS_STREAM: stream,
    SHARDS_BUCKET: uniqueName('bshards'),
    LEASES_BUCKET: uniqueName('bleases'),
    METRICS_PORT: String(port),
    LOG_LEVEL: env.BENCH_LOG_LEVEL ?? 'warn',
    ...(env.BENCH_START_CONCURRENCY ? { START_CONCURRENCY: env.BENCH_START_CONCURRENCY } : {}),
    // production timings
    MEMBERSHIP_TTL_MS: '6000',
    HEARTBEAT_INTERVAL_MS: '2000',
    LEASE_TTL_MS: '8000',
    LEASE_REFRESH_INTERVAL_MS: '2000',
    PLACEMENT_INTERVAL_MS: '2000',
    KEEPALIVE_INTERVAL_MS: '60000',
    RECONCILE_INTERVAL_MS: '30000',
    STATE_FLUSH_INTERVAL_MS: '1000',
    REQUEST_TIMEOUT_MS: '15000',
    RECONNECT_BASE_MS: '1000',
    RECONNECT_MAX_MS: '60000',
    CONNECTION_EVENT_DEBOUNCE_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '20000',
  });
  const basePort = 20000 + Math.floor(Math.random() * 10000);
  const envA = shardEnv(basePort);
  const envB = {
    ...shardEnv(basePort + 1),
    SHARDS_BUCKET: envA.SHARDS_BUCKET!,
    LEASES_BUCKET: envA.LEASES_BUCKET!,
  };
  const nc = await connect({ servers: infra.natsUrl });
  const jsm = await jetstreamManager(nc);
  const streamCount = async (): Promise<number> =>
    Number((await jsm.streams.info(stream).catch(() => undefined))?.state.messages ?? 0);

  /** Starts shard A and measures until N sessions are live. */
  const restore = async (label: string): Promise<Shard> => {
    const t0 = Date.now();
    const shard = startShard('bench-0', envA);
    keepLog(shard);
    const up = await waitForCount(
      async () => ((await metricValue(basePort, 'tgbridge_connector_leases_held')) >= 0 ? 1 : 0),
      1,
      60_000,
      50,
    );
    if (up === undefined)
      console.log(`shard did not start:\n${shard.output.join('').slice(-3000)}`);
    const rssStart = rssOf(shard.proc.pid!);
    const cpu0 = cpuSecondsOf(shard.proc.pid!);
    let lastPrint = 0;
    const ms = await waitForCount(
      () => liveSessions(basePort),
      N,
      TIMEOUT_MS,
      200,
      (v, at) => {
        if (at - lastPrint >= 10_000) {
          lastPrint = at;
          console.log(`  ${label}: ${v}/${N} live after ${(at / 1000).toFixed(0)} s`);
        }
      },
    );
    const live = await liveSessions(basePort);
    const cpu = cpuSecondsOf(shard.proc.pid!) - cpu0;
    const wall = (Date.now() - t0) / 1000;
    note(
      `${label}: sessions live`,
      `${live}/${N} in ${wall.toFixed(1)} s${ms === undefined ? ' (TIMEOUT)' : ''}`,
      `process start ${((up ?? NaN) / 1000).toFixed(1)} s included; shard CPU ${cpu.toFixed(1)} s`,
    );
    console.log(`  shard warnings so far:\n${logSummary(shard)}`);
    (shard as Shard & { rssStart?: number }).rssStart = rssStart;
    return shard;
  };

  let shard: Shard | undefined;
  if (PHASES.has('restore')) {
    shard = await restore('first start');
    await new Promise((r) => setTimeout(r, 5000));
    const rss = rssOf(shard.proc.pid!) / 2 ** 20;
    const idle = ((shard as Shard & { rssStart?: number }).rssStart ?? 0) / 2 ** 20;
    note(
      'shard RSS',
      `${rss.toFixed(0)} MB with ${N} live`,
      `${(rss / N).toFixed(2)} MB/session total, ${((rss - idle) / N).toFixed(2)} MB/session over the ${idle.toFixed(0)} MB idle shard`,
    );
  }
  /**
   * Runs `send` and waits until `expected` more events are on the stream;
   * prints progress every 10 s and notes the rate (wall and per shard CPU second).
   */
  const eventsPhase = async (
    label: string,
    expected: number,
    send: () => Promise<unknown>,
  ): Promise<void> => {
    const s = shard!;
    const before = await streamCount();
    const cpu0 = cpuSecondsOf(s.proc.pid!);
    const t0 = Date.now();
    const sent = send().then(() => Date.now() - t0);
    const progress = async (v: number, at: number): Promise<void> => {
      const c = await controlCall<{ updatesPushed: number; liveConnections: number }>(
        emu.controlUrl,
        'GET',
        '/counters',
      ).catch(() => undefined);
      const [recovered, live] = await Promise.all([
        metricValue(basePort, 'tgbridge_connector_recovered_events_total'),
        liveSessions(basePort),
      ]);
      console.log(
        `  ${label}: ${v}/${expected} on the stream after ${(at / 1000).toFixed(0)} s; emulator pushed ${c?.updatesPushed ?? '?'} updates in total, ${c?.liveConnections ?? '?'} connections; shard: ${live} live, ${recovered} recovered events`,
      );
    };
    let lastPrint = 0;
    const ms = await waitForCount(
      async () => (await streamCount()) - before,
      expected,
      EVENTS_TIMEOUT_MS,
      200,
      (v, at) => {
        if (at - lastPrint < 10_000) return;
        lastPrint = at;
        void progress(v, at);
      },
    );
    const pushMs = await sent;
    const cpu = cpuSecondsOf(s.proc.pid!) - cpu0;
    const got = (await streamCount()) - before;
    const wall = (ms ?? Date.now() - t0) / 1000;
    note(
      `${label}: events published (wall)`,
      `${int(got / wall)}/s`,
      `${got}/${expected} acked in ${wall.toFixed(1)} s; emulator sends took ${(pushMs / 1000).toFixed(1)} s${ms === undefined ? '; TIMEOUT' : ''}`,
    );
    if (got < expected) console.log(`  shard warnings so far:\n${logSummary(s)}`);
    note(
      `${label}: events per shard CPU-second`,
      `${int(got / cpu)}/s`,
      `shard CPU ${cpu.toFixed(1)} s = ${((cpu / wall) * 100).toFixed(0)} % of one core`,
    );
  };
  if (PHASES.has('events') && shard) {
    // One control API request per message (sender → session i, round robin).
    await eventsPhase('direct messages', MESSAGES, () =>
      mapPool(
        Array.from({ length: MESSAGES }, (_, i) => i),
        64,
        (i) =>
          controlCall(emu.controlUrl, 'POST', '/messages', {
            from: sender.id,
            to: { user: sessions[i % N]!.userId },
            text: `bench ${i}`,
          }),
      ),
    );
    // One request per post; every post is an update for each of the N members.
    await eventsPhase('supergroup fan-out', POSTS * N, () =>
      mapPool(
        Array.from({ length: POSTS }, (_, i) => i),
        4,
        (i) =>
          controlCall(emu.controlUrl, 'POST', '/messages', {
            from: sender.id,
            to: { channel: channelId },
            text: `post ${i}`,
          }),
      ),
    );
  }
  if (PHASES.has('restart') && shard) {
    const t0 = Date.now();
    const stopped = stopShard(shard);
    const killer = setTimeout(() => {
      console.log(
        `  shard still running 40 s after SIGTERM:\n${shard!.output.join('').slice(-2000)}`,
      );
      shard!.proc.kill('SIGKILL');
    }, 40_000);
    await stopped;
    clearTimeout(killer);
    const tq = Date.now();
    const n = await Promise.race([
      sessionModel(db).countDocuments({ status: 'connected' }),
      new Promise((r) => setTimeout(() => r('no answer in 10 s'), 10_000)),
    ]);
    console.log(`  MongoDB probe after stop: ${n} in ${Date.now() - tq} ms`);
    note(
      'graceful stop (SIGTERM)',
      `${((Date.now() - t0) / 1000).toFixed(1)} s`,
      `exit code ${shard.proc.exitCode}`,
    );
    shard = await restore('restart');
  }
  if (PHASES.has('failover') && shard) {
    const b = startShard('bench-1', envB);
    keepLog(b);
    // wait for the rebalance to settle: both shards hold sessions and the sum is N
    const settled = await waitForCount(
      async () => {
        const [x, y] = await Promise.all([liveSessions(basePort), liveSessions(basePort + 1)]);
        return x > 0 && y > 0 ? x + y : 0;
      },
      N,
      TIMEOUT_MS,
      500,
    );
    const onA = await liveSessions(basePort);
    note(
      'rebalance to 2 shards',
      settled === undefined ? 'TIMEOUT' : `${(settled / 1000).toFixed(1)} s`,
      `${onA} sessions stay on the first shard`,
    );
    const cpu0 = cpuSecondsOf(b.proc.pid!);
    shard.proc.kill('SIGKILL');
    await shard.exited;
    let lastPrint = 0;
    const ms = await waitForCount(
      () => liveSessions(basePort + 1),
      N,
      TIMEOUT_MS,
      100,
      (v, at) => {
        if (at - lastPrint >= 5000) {
          lastPrint = at;
          console.log(
            `  failover: ${v}/${N} live on the survivor after ${(at / 1000).toFixed(0)} s`,
          );
        }
      },
    );
    note(
      'failover of a SIGKILLed shard',
      ms === undefined ? 'TIMEOUT' : `${(ms / 1000).toFixed(1)} s`,
      `${onA} sessions moved; membership TTL 6 s, lease TTL 8 s; survivor CPU ${(cpuSecondsOf(b.proc.pid!) - cpu0).toFixed(1)} s`,
    );
    shard = b;
  }
  const counters = await controlCall<{ authKeyDuplicated: number }>(
    emu.controlUrl,
    'GET',
    '/counters',
  );
  note('emulator AUTH_KEY_DUPLICATED', String(counters.authKeyDuplicated));
  if (shard) await stopShard(shard);
  if (PHASES.has('baseline')) await emulatorBaseline(emu, sessions, '+19990000000', channelId);
  printTable(`connector benchmark (${N} sessions)`, rows);

  await nc.close();
  await db.close();
  await emu.stop();
  await infra.stop();
}

/**
 * The emulator's own ceiling for the two event patterns, measured in the same
 * run after the shards stopped: raw MTProto clients (bench/lib/fleet.ts, one
 * new auth key per account) receive, decrypt and ack what the same control
 * API calls push — direct messages at the same concurrency, then supergroup
 * posts to the same N members. A connector figure near these is bounded by
 * the emulator, not by the shard.
 */
async function emulatorBaseline(
  emu: EmulatorProcess,
  sessions: MintedSession[],
  senderPhone: string,
  channelId: number,
): Promise<void> {
  const { clients, failures } = await bringUpFleet(
    emu,
    sessions.map((x) => x.phone),
    0,
    32,
  );
  const rec = new UpdateRecorder(1);
  rec.attach(clients);
  const acks = setInterval(() => clients.forEach((c) => c.flushAcks()), 1000);
  try {
    const dm = await directPhase(emu, rec, {
      sender: senderPhone,
      phones: sessions.map((x) => x.phone),
      seconds: 5,
      concurrency: 64,
    });
    const fan = await fanOutPhase(emu, rec, {
      sender: senderPhone,
      channelId,
      members: clients.length,
      seconds: 5,
      window: 4,
    });
    for (const r of [dm, fan])
      note(
        `emulator baseline, ${r.name}`,
        `${int(r.received / (r.wallMs / 1000))} updates/s`,
        `${int(r.received)}/${int(r.expected)} to ${clients.length} raw clients${failures.length ? ` (${failures.length} failed to connect)` : ''}; emulator CPU ${((r.serverCpuS / (r.wallMs / 1000)) * 100).toFixed(0)} %`,
      );
  } finally {
    clearInterval(acks);
    for (const c of clients) c.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
