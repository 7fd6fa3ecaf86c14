/**
 * Notifier benchmark (prints figures; not a timed test):
 *   npx tsx bench/notifier.ts    (BENCH_EVENTS=5000 BENCH_RATE=1000 BENCH_SECONDS=10 to change)
 *
 * Against real NATS + MongoDB-wire (packages/testinfra: NATS_URL / MONGO_URL
 * when set, else it starts its own) with the notifier as its own process,
 * started as its Docker image starts it (the esbuild bundle of
 * scripts/build.ts, the image's node flags and NODE_OPTIONS read from the
 * Dockerfile by scripts/docker-command.ts;
 * production defaults, OpenTelemetry on without an exporter, except
 * http/127.0.0.1 allowed), and node:http receivers on 127.0.0.1 plus the publisher in this
 * process: every figure shares two cores with the receivers, the publisher,
 * nats-server and the database. The notifier's CPU time per delivery is
 * printed too (from /proc, user + system). BENCH_PROFILE_DIR=<dir> writes a
 * V8 CPU profile of the notifier there (open it in Chrome DevTools).
 *
 * 1. Throughput: BENCH_EVENTS events published as fast as possible, each
 *    delivered to 4 endpoints; deliveries/s from the first publish to the
 *    last receipt.
 * 2. Latency at BENCH_RATE events/s for BENCH_SECONDS, 3 healthy endpoints:
 *    JetStream publish → receiver p50/p99, after BENCH_WARMUP_SECONDS (2)
 *    of the same traffic that is not measured (lanes claimed, connections
 *    open, code optimised).
 * 3. The same with a 4th endpoint, created and warmed up while healthy,
 *    that dies (every request hangs until the 15 s timeout) when measuring
 *    starts, and is deleted after the window: the healthy endpoints' p99,
 *    and its ratio to (2). (2) and (3) alternate BENCH_ROUNDS (3) times and
 *    each p99 is taken over all windows of its kind: a single hiccup (a
 *    major GC, the database pausing) otherwise decides a window's p99. The
 *    notifier's CPU use, major GCs and old-generation growth (MB/s, what
 *    sets how often major GCs come; bench/lib/gc-probe.mjs) are printed
 *    per window, and both p99s once more without the deliveries published
 *    within 250 ms of a major GC: what the dead endpoint itself costs,
 *    whichever windows the collections fell in. Before every window (its
 *    warm-up included) the notifier gets a full GC (gc-probe, on SIGUSR2)
 *    and so does the database when it is bench/mongo-java-server: a
 *    collection that comes every minute or so otherwise lands in one window
 *    or another by chance and decides its p99. Both kinds of window start
 *    alike; how fast each fills the old generation (how often it would
 *    need a major GC) is printed, with its ratio.
 *
 * BENCH_LATENCY_CSV=<file> appends every latency (phase, endpoint, ms
 * since the phase started, latency ms, publish time) to see when slow
 * ones happen. BENCH_NOTIFIER_NODE_FLAGS adds node flags to the image's
 * (e.g. `--trace-gc`, or `--heap-growing-percent=0` for V8's default).
 *
 * Baseline, measured first in the same run: the same number of POSTs of a
 * webhook-sized body sent straight from a keep-alive node:http client (128
 * in flight, as many as the notifier's 4 endpoints x 32) to the same kind
 * of receivers — what this machine manages without JetStream, MongoDB and
 * signing. Throughput is printed as a ratio to it and to the target.
 *
 * Backend: the MongoDB-wire server is printed with the figures. To measure
 * another one, point MONGO_URL at it (e.g. a mongod, FerretDB on
 * PostgreSQL, or mongo-java-server: bash bench/mongo-java-server/run.sh
 * starts one on port 27999); the default is the test suite's
 * FerretDB on SQLite, which scans whole collections for every update,
 * delete and non-_id query.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { ChatType } from '@tgbridge/proto/common/v1/common';
import { Event } from '@tgbridge/proto/events/v1/events';
import { eventSubject } from '@tgbridge/proto/subjects';
import { startInfra, uniqueDbUrl, uniqueName } from '@tgbridge/testinfra';
import { buildService } from '../scripts/build.js';
import { dockerCommand } from '../scripts/docker-command.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Unmeasured traffic before each latency phase (s). */
const WARMUP_S = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
/** As `NODE_OPTIONS` in the Dockerfile's notifier stage (see docs/operations.md). */
/** Pairs of latency windows (all healthy, then one endpoint dead). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SESSIONS = 200;
/** Where bench/lib/gc-probe.mjs writes the notifier's major GCs. */
const GC_PROBE_FILE = join(tmpdir(), `notifier-bench-gc-${process.pid}.log`);
/** Deliveries published this close (ms) to a notifier major GC count as caught in it. */
const GC_MARGIN_MS = 250;

/** The gc-probe's lines so far. */
function probeLines(): string[] {
  if (!existsSync(GC_PROBE_FILE)) return [];
  return readFileSync(GC_PROBE_FILE, 'utf8').split('\n').filter(Boolean);
}

/** The notifier's major GCs so far: [start, end] epoch ms. */
function majorGcs(): [number, number][] {
  return probeLines()
    .filter((l) => !l.startsWith('old ') && !l.startsWith('forced '))
    .map((l) => {
      const [start, pause] = l.split(' ').map(Number) as [number, number];
      return [start, start + pause];
    });
}

/** How fast the notifier's old generation grew between two epoch ms, MB/s (NaN without samples). */
function oldGrowth(from: number, to: number): number {
  const samples = probeLines()
    .filter((l) => l.startsWith('old '))
    .map((l) => l.split(' ').slice(1).map(Number) as [number, number])
    .filter(([t]) => t >= from && t <= to);
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last[0] === first[0]) return NaN;
  return (last[1] - first[1]) / 1e6 / ((last[0] - first[0]) / 1000);
}

interface Rx {
  url: string;
  /** event id → receive times */
  got: Map<string, number>;
  count: number;
  hang: boolean;
  server: Server;
}

async function rx(): Promise<Rx> {
  const r: Rx = {
    url: '',
    got: new Map(),
    count: 0,
    hang: false,
    server: undefined as unknown as Server,
  };
  r.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (r.hang) return;
      const id = req.headers['webhook-id'] as string;
      if (!r.got.has(id)) r.got.set(id, performance.now() + performance.timeOrigin);
      r.count++;
      res.writeHead(204).end();
    });
  });
  r.server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  return r;
}

/**
 * Now on CLOCK_MONOTONIC (µs), the clock of V8 CPU profiles' timestamps on
 * Linux (shared by all processes).
 */
function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function event(tenant: string, i: number): Event {
  return Event.fromPartial({
    eventId: `evt_${randomUUID()}`,
    type: 'new_message',
    tenantId: tenant,
    agentId: `agent${i % 20}`,
    sessionId: `00000000-0000-4000-8000-${String(i % SESSIONS).padStart(12, '0')}`,
    occurredAt: new Date(),
    sequence: String(i + 1),
    payload: {
      $case: 'message',
      value: {
        message: {
          id: i + 1,
          from: { id: '987654321', firstName: 'Ali', username: 'ali_m', isBot: false },
          chat: { id: '987654321', type: ChatType.PRIVATE },
          text: `message ${i}`,
          date: new Date(),
          entities: [],
          out: false,
        },
      },
    },
  });
}

/** Deliveries/s of plain keep-alive POSTs (`total`, `concurrency` in flight) spread over `targets`. */
async function rawPosts(targets: Rx[], total: number, concurrency: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({ event: 'new_message', text: 'x'.repeat(400) });
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((ok, fail) => {
      const u = new URL(`${targets[i % targets.length]!.url}/hook`);
      const req = request(
        u,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'webhook-id': `raw_${i}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', ok);
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
  const s = (performance.now() - t0) / 1000;
  agent.destroy();
  for (const r of targets) r.got.clear();
  return total / s;
}

/**
 * Starts the notifier as its Docker image does: the production bundle
 * (scripts/build.ts, built into services/notifier/.tmp/bench-dist) with
 * the image's command line (scripts/docker-command.ts), plus the gc-probe.
 * Its logs are shown when BENCH_LOG_LEVEL is set.
 */
async function startNotifier(env: Record<string, string>): Promise<ChildProcess> {
  const out = join(ROOT, 'services/notifier/.tmp/bench-dist');
  await buildService('notifier', out);
  const image = dockerCommand('notifier', out);
  const prof = process.env.BENCH_PROFILE_DIR;
  // --expose-gc: gc-probe's full collection on SIGUSR2 before every window
  const flags = ['--expose-gc', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])];
  flags.push(...(process.env.BENCH_NOTIFIER_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  const p = spawn(
    process.execPath,
    // the added flags after the image's, so that they win
    [
      ...image.args.slice(0, -1),
      ...flags,
      '--import',
      join(ROOT, 'bench/lib/gc-probe.mjs'),
      ...image.args.slice(-1),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: image.nodeOptions,
        ...env,
        GC_PROBE_FILE,
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', process.env.BENCH_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
    },
  );
  p.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') {
      console.error(`notifier exited (${code ?? signal})`);
      process.exit(1);
    }
  });
  return p;
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100/s here)
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak resident set size of a process so far (MB), from /proc (VmHWM). */
function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb ?? NaN) / 1024);
}

async function backendOf(url: string, source: string): Promise<string> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url);
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    const ferret = info.ferretdbVersion as string | undefined;
    return ferret
      ? `FerretDB ${ferret} (${source})`
      : `MongoDB-wire ${String(info.version)} (${source})`;
  } catch {
    return source;
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const infra = await startInfra();
  const backend = await backendOf(infra.mongoUrl, infra.mongo.source);
  const nc = await connect({ servers: infra.natsUrl });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const tenant = `bench${randomBytes(3).toString('hex')}`;
  const stream = uniqueName('NFBENCH');
  let streamName = stream;
  try {
    streamName = await jsm.streams.find(`tg.evt.${tenant}.a.s.t`);
  } catch {
    await jsm.streams.add({ name: stream, subjects: [`tg.evt.${tenant}.>`] });
  }
  const env = {
    NATS_URL: infra.natsUrl,
    MONGO_URL: uniqueDbUrl(infra.mongoUrl, 'bench_notifier'),
    SESSION_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    METRICS_PORT: '0',
    EVENTS_STREAM: streamName,
    NOTIFIER_EVENTS_FILTER: `tg.evt.${tenant}.>`,
    NOTIFIER_CONSUMER: uniqueName('bench'),
    NOTIFIER_SUBJECT_PREFIX: `tg.nfbench.${randomBytes(3).toString('hex')}`,
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
  };
  const notifier = await startNotifier(env);
  const api = async (op: string, body: Record<string, unknown>) =>
    (
      await nc.request(
        `${env.NOTIFIER_SUBJECT_PREFIX}.endpoints.${op}`,
        JSON.stringify({ tenant_id: tenant, ...body }),
        { timeout: 10_000 },
      )
    ).json<{
      endpoint: { id: string };
    }>();
  // ready once its API answers (serving starts just before its intake consumer)
  for (const until = Date.now() + 60_000; ;) {
    try {
      await nc.request(
        `${env.NOTIFIER_SUBJECT_PREFIX}.endpoints.list`,
        JSON.stringify({ tenant_id: tenant }),
        { timeout: 1000 },
      );
      break;
    } catch {
      if (Date.now() > until) throw new Error('the notifier did not start within 60 s');
      await new Promise((ok) => setTimeout(ok, 200));
    }
  }
  await new Promise((ok) => setTimeout(ok, 1000));
  const publish = async (e: Event) => {
    const sent = performance.now() + performance.timeOrigin;
    await js.publish(eventSubject(e), JSON.stringify(Event.toJSON(e)), { msgID: e.eventId });
    return sent;
  };
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.log(s);
  };

  say(`backend: ${backend}; NATS ${infra.nats.source}`);
  // 1. throughput (baseline first, same receivers)
  const t1 = [await rx(), await rx(), await rx(), await rx()];
  const baseline = await rawPosts(t1, EVENTS * t1.length, 128);
  say(
    `baseline: ${EVENTS * t1.length} plain keep-alive POSTs, 128 in flight → ${Math.round(baseline)} requests/s`,
  );
  const ids1: string[] = [];
  for (const r of t1) ids1.push((await api('create', { url: `${r.url}/hook` })).endpoint.id);
  const cpu1 = cpuMs(notifier.pid!);
  const start1 = performance.now() + performance.timeOrigin;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < EVENTS; i++) {
    inflight.push(publish(event(tenant, i)));
    if (inflight.length >= 256) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  const published1 = performance.now() + performance.timeOrigin;
  while (t1.some((r) => r.got.size < EVENTS)) await new Promise((ok) => setTimeout(ok, 20));
  const end1 = Math.max(...t1.flatMap((r) => [...r.got.values()]));
  const notifierCpu = cpuMs(notifier.pid!) - cpu1;
  const deliveries = EVENTS * t1.length;
  const rate = deliveries / ((end1 - start1) / 1000);
  say(
    `throughput: ${EVENTS} events x ${t1.length} endpoints = ${deliveries} deliveries in ${((end1 - start1) / 1000).toFixed(2)} s → ${Math.round(rate)} deliveries/s (${Math.round(EVENTS / ((end1 - start1) / 1000))} events/s; publishing took ${((published1 - start1) / 1000).toFixed(2)} s); ${(rate / baseline).toFixed(3)} x baseline, ${(rate / 5000).toFixed(3)} x target 5,000/s`,
  );
  say(
    `notifier CPU: ${(notifierCpu / 1000).toFixed(2)} s for ${deliveries} deliveries = ${((notifierCpu * 1000) / deliveries).toFixed(0)} µs per delivery (${((notifierCpu / (end1 - start1)) * 100).toFixed(0)} % of one core)`,
  );
  for (const id of ids1) await api('delete', { id });

  // 2 + 3. latency at RATE events/s, healthy vs one dead endpoint
  /** Publishes at RATE/s for `seconds`; returns event id → publish time. */
  const paced = async (seconds: number, from: number) => {
    const sentAt = new Map<string, number>();
    const total = Math.round(RATE * seconds);
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((ok) => setTimeout(ok, wait));
      const e = event(tenant, from + i);
      pending.push(publish(e).then((t) => void sentAt.set(e.eventId, t)));
    }
    await Promise.all(pending);
    return sentAt;
  };
  const received = async (sentAt: Map<string, number>, healthy: Rx[]) => {
    const deadline = Date.now() + 120_000;
    while (
      healthy.some((r) => [...sentAt.keys()].some((id) => !r.got.has(id))) &&
      Date.now() < deadline
    ) {
      await new Promise((ok) => setTimeout(ok, 50));
    }
  };
  let seq = EVENTS;
  /** A full GC of the notifier (bench/lib/gc-probe.mjs), answered by a `forced` line. */
  const collectNotifierGarbage = async () => {
    const before = probeLines().filter((l) => l.startsWith('forced ')).length;
    notifier.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      if (probeLines().filter((l) => l.startsWith('forced ')).length > before) return;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    throw new Error('the notifier did not answer SIGUSR2 with a full GC within 5 s');
  };
  // bench/mongo-java-server's own command (other backends do not know it):
  // its collector's cycles come between windows, not by chance inside one
  const db = await new MongoClient(infra.mongoUrl).connect();
  let dbGc = true;
  const collectDatabaseGarbage = async () => {
    if (dbGc)
      dbGc = await db
        .db('admin')
        .command({ benchGc: 1 })
        .then(
          () => true,
          () => false,
        );
  };
  /** Measured windows on the CPU profile's clock, for bench/lib/profile-windows.mjs. */
  const windows: { label: string; startUs: number; endUs: number }[] = [];
  const notifierPid = notifier.pid!;
  const latency = async (label: string, healthy: Rx[], onStart: () => void = () => {}) => {
    await collectDatabaseGarbage();
    await collectNotifierGarbage();
    // warm-up, not measured: lanes claimed, sockets open, code optimised
    await received(await paced(WARMUP_S, seq), healthy);
    seq += Math.round(RATE * WARMUP_S);
    onStart();
    const mono0 = monoUs();
    const cpu0 = cpuMs(notifierPid);
    const start = performance.now() + performance.timeOrigin;
    const sentAt = await paced(SECONDS, seq);
    seq += RATE * SECONDS;
    const busy = (cpuMs(notifierPid) - cpu0) / (performance.now() + performance.timeOrigin - start);
    windows.push({ label, startUs: mono0, endUs: monoUs() });
    await received(sentAt, healthy);
    const lat: number[] = [];
    /** Latencies of deliveries published away from the notifier's major GCs. */
    const calm: number[] = [];
    const end = performance.now() + performance.timeOrigin;
    const gcs = majorGcs();
    const nearGc = (t: number) =>
      gcs.some(([a, b]) => t >= a - GC_MARGIN_MS && t <= b + GC_MARGIN_MS);
    for (const r of healthy)
      for (const [id, t] of sentAt) {
        const g = r.got.get(id);
        if (g === undefined) continue;
        lat.push(g - t);
        if (!nearGc(t)) calm.push(g - t);
      }
    const gcsIn = gcs.filter(([a]) => a >= start && a <= end).length;
    const growth = oldGrowth(start, end);
    if (process.env.BENCH_LATENCY_CSV) {
      const rows: string[] = [];
      for (const [ri, r] of healthy.entries())
        for (const [id, t] of sentAt) {
          const g = r.got.get(id);
          if (g !== undefined)
            rows.push(
              `${label},${ri},${(t - start).toFixed(1)},${(g - t).toFixed(2)},${t.toFixed(0)}`,
            );
        }
      appendFileSync(process.env.BENCH_LATENCY_CSV, rows.join('\n') + '\n');
    }
    const p50 = pct(lat, 50);
    const p99 = pct(lat, 99);
    say(
      `${label}: ${sentAt.size} events at ${RATE}/s to ${healthy.length} healthy endpoints: publish→receive p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms (${lat.length}/${sentAt.size * healthy.length} received); notifier CPU ${(busy * 100).toFixed(0)} % of one core; notifier major GCs ${gcsIn}, its old generation filling at ${growth.toFixed(1)} MB/s`,
    );
    for (const r of healthy) r.got.clear();
    return { p99, lat, calm, growth, busy };
  };
  // let the throughput run's leftovers (record writes, sweeps, GC) settle first
  await new Promise((ok) => setTimeout(ok, 3000));
  const healthy = [await rx(), await rx(), await rx()];
  for (const r of healthy) await api('create', { url: `${r.url}/hook` });
  // Healthy and dead windows alternate, so drift (JIT, the database's heap)
  // hits both alike; each condition's p99 is over all its windows.
  const pooled = { healthy: [] as number[], dead: [] as number[] };
  const calm = { healthy: [] as number[], dead: [] as number[] };
  const ratios: number[] = [];
  /** Per kind of window: old-generation growth (MB/s) and notifier CPU (share of a core). */
  const fill = { healthy: [] as number[], dead: [] as number[] };
  const cpu = { healthy: [] as number[], dead: [] as number[] };
  const deadRx: Rx[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const h = await latency(`all healthy (round ${round})`, healthy);
    // the 4th endpoint is warmed up while healthy and dies when measuring starts
    const dead = await rx();
    deadRx.push(dead);
    const { endpoint } = await api('create', { url: `${dead.url}/hook` });
    const d = await latency(
      `one endpoint dies (round ${round})`,
      healthy,
      () => (dead.hang = true),
    );
    // gone before the next healthy window (its queued deliveries with it)
    await api('delete', { id: endpoint.id });
    dead.server.closeAllConnections();
    pooled.healthy.push(...h.lat);
    pooled.dead.push(...d.lat);
    calm.healthy.push(...h.calm);
    calm.dead.push(...d.calm);
    ratios.push(d.p99 / h.p99);
    fill.healthy.push(h.growth);
    fill.dead.push(d.growth);
    cpu.healthy.push(h.busy);
    cpu.dead.push(d.busy);
  }
  const p99Healthy = pct(pooled.healthy, 99);
  const p99Dead = pct(pooled.dead, 99);
  say(
    `all healthy, ${ROUNDS} windows: p99 ${p99Healthy.toFixed(1)} ms; p99 / target 50 ms = ${(p99Healthy / 50).toFixed(2)}`,
  );
  say(
    `one endpoint dead, ${ROUNDS} windows: healthy endpoints' p99 ${p99Dead.toFixed(1)} ms; / all healthy = ${(p99Dead / p99Healthy).toFixed(2)} (per round: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  );
  // The same without the deliveries a major GC of the notifier caught: what
  // the dead endpoint itself costs, whichever windows the GCs fell in.
  const calmHealthy = pct(calm.healthy, 99);
  const calmDead = pct(calm.dead, 99);
  const left = (c: number[], all: number[]) =>
    (((all.length - c.length) / all.length) * 100).toFixed(1);
  say(
    `away from the notifier's major GCs (deliveries published ≥ ${GC_MARGIN_MS} ms from one; ${left(calm.healthy, pooled.healthy)} % / ${left(calm.dead, pooled.dead)} % left out): all healthy p99 ${calmHealthy.toFixed(1)} ms, one endpoint dead p99 ${calmDead.toFixed(1)} ms; / all healthy = ${(calmDead / calmHealthy).toFixed(2)}`,
  );
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  say(
    `notifier, all healthy → one endpoint dead: CPU ${(mean(cpu.healthy) * 100).toFixed(0)} → ${(mean(cpu.dead) * 100).toFixed(0)} % of one core; old generation filling at ${mean(fill.healthy).toFixed(1)} → ${mean(fill.dead).toFixed(1)} MB/s (${(mean(fill.dead) / mean(fill.healthy)).toFixed(2)} x: how much more often it needs a major GC)`,
  );
  say(
    `full GC before each window: notifier yes, database ${dbGc ? 'yes' : 'no (not mongo-java-server)'}`,
  );
  say(`notifier memory: peak RSS ${peakRssMb(notifierPid)} MB`);
  if (process.env.BENCH_PROFILE_DIR)
    writeFileSync(join(process.env.BENCH_PROFILE_DIR, 'windows.json'), JSON.stringify(windows));
  const stopped = new Promise((ok) => notifier.once('exit', ok));
  notifier.kill('SIGTERM');
  await stopped;
  for (const r of [...t1, ...healthy, ...deadRx]) {
    r.server.closeAllConnections();
    r.server.close();
  }
  await jsm.streams.delete(stream).catch(() => false);
  // an in-memory server (mongo-java-server) would otherwise keep every run's data
  const mongo = await new MongoClient(env.MONGO_URL).connect();
  await mongo.db().dropDatabase();
  await mongo.close();
  await db.close();
  await nc.close();
  await infra.stop();
  rmSync(GC_PROBE_FILE, { force: true });
  console.log('\nsummary\n' + lines.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
