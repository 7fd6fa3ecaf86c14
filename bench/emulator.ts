/**
 * Emulator server benchmark (prints figures; not a timed test):
 *
 *   npx tsx bench/emulator.ts [--connections 2000] [--seconds 20] [--dh-sample 50]
 *                             [--window 4] [--dm-seconds 5] [--cpu-prof <dir>]
 *   (env: BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_DH_SAMPLE, BENCH_WINDOW,
 *    BENCH_DM_SECONDS, BENCH_CPU_PROF, BENCH_EMULATOR_MAIN)
 *
 * The emulator runs alone in a child process (its RSS and CPU time are read
 * from /proc). This process drives it with raw MTProto clients
 * (bench/lib/raw-client.ts): N authorized, update-receiving connections
 * (a sample through a real DH exchange + auth.signIn, the rest with keys
 * imported through the test-only control hook), then pushes updates —
 * mainly a supergroup fan-out (one post → N updates) — while the clients
 * decrypt, count and ack them. Everything is bounded by counts and time and
 * stays on 127.0.0.1.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { controlCall, mapPool } from './lib/control-client.js';
import { clientDecryptCapacity } from './lib/decrypt-capacity.js';
import { cpuSecondsOf, rssOf, startEmulatorProcess } from './lib/emulator-process.js';
import { bringUpFleet } from './lib/fleet.js';
import { directPhase, fanOutPhase, UpdateRecorder, type PhaseResult } from './lib/push-phase.js';
import { int, mb, percentile, printTable } from './lib/report.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string' },
    seconds: { type: 'string' },
    'dh-sample': { type: 'string' },
    window: { type: 'string' },
    'dm-seconds': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const env = process.env;
const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));
const N = num(flags.connections ?? env.BENCH_CONNECTIONS, 2000);
const SECONDS = num(flags.seconds ?? env.BENCH_SECONDS, 20);
const DH_SAMPLE = Math.min(N, num(flags['dh-sample'] ?? env.BENCH_DH_SAMPLE, 50));
const WINDOW = num(flags.window ?? env.BENCH_WINDOW, 4);
const DM_SECONDS = num(flags['dm-seconds'] ?? env.BENCH_DM_SECONDS, 5);
const CPU_PROF = flags['cpu-prof'] ?? env.BENCH_CPU_PROF;
const MAIN = env.BENCH_EMULATOR_MAIN ?? 'packages/tg-emulator/src/main.ts';
const TARGET_CONNECTIONS = 2000;
const TARGET_UPDATES_PER_S = 10_000;

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function phaseRows(r: PhaseResult): Array<[string, string, string?]> {
  const s = r.wallMs / 1000;
  const rate = r.received / s;
  const cpuPer1k = (r.serverCpuS / Math.max(1, r.received)) * 1000;
  return [
    [`${r.name}: control sends`, int(r.sends), `${(r.sends / s).toFixed(1)}/s`],
    [
      `${r.name}: updates received`,
      `${int(r.received)}/${int(r.expected)}`,
      `in ${s.toFixed(1)} s`,
    ],
    [
      `${r.name}: updates/s (wall)`,
      int(rate),
      `${(rate / TARGET_UPDATES_PER_S).toFixed(2)}× target ${int(TARGET_UPDATES_PER_S)}`,
    ],
    [
      `${r.name}: server CPU`,
      `${((r.serverCpuS / s) * 100).toFixed(0)} %`,
      `${r.serverCpuS.toFixed(2)} CPU s (100 % = one core)`,
    ],
    [`${r.name}: server CPU s / 1,000 updates`, cpuPer1k.toFixed(3), 'load-robust'],
    [
      `${r.name}: updates/s per server core`,
      int(1000 / cpuPer1k),
      `= 1000 / CPU-s-per-1k; ${(1000 / cpuPer1k / TARGET_UPDATES_PER_S).toFixed(2)}× target`,
    ],
    [`${r.name}: bench (client) CPU`, `${((r.clientCpuS / s) * 100).toFixed(0)} %`],
    [
      `${r.name}: latency p50`,
      `${percentile(r.latencies, 50).toFixed(1)} ms`,
      'control send → client decrypt',
    ],
    [`${r.name}: latency p99`, `${percentile(r.latencies, 99).toFixed(1)} ms`],
  ];
}

async function main(): Promise<void> {
  console.log(`load average at start: ${load()} (2 cores, shared with other test runs)`);
  const capacity = clientDecryptCapacity(1500);
  console.log(`raw client decrypt capacity (this process, one core): ${int(capacity)} updates/s`);
  const emu = await startEmulatorProcess({ main: MAIN, cpuProfDir: CPU_PROF });
  console.log(`emulator pid ${emu.pid} on 127.0.0.1:${emu.port}, control ${emu.controlUrl}`);
  const rows: Array<[string, string, string?]> = [];
  const clients: Awaited<ReturnType<typeof bringUpFleet>>['clients'] = [];
  let ackTimer: NodeJS.Timeout | undefined;
  try {
    const rssIdle = rssOf(emu.pid);
    const phones = Array.from({ length: N }, (_, i) => `+1999${String(i + 1).padStart(7, '0')}`);
    const sender = '+19990000000';
    await mapPool([sender, ...phones], 16, (phone, i) =>
      controlCall(emu.controlUrl, 'POST', '/users', { phone, firstName: `U${i}` }),
    );
    const { channelId } = await controlCall<{ channelId: number }>(
      emu.controlUrl,
      'POST',
      '/channels',
      { creator: sender, title: 'bench', members: phones, megagroup: true },
    );
    const rssWorld = rssOf(emu.pid);
    const cpuSetup0 = cpuSecondsOf(emu.pid);
    const t0 = performance.now();
    const fleet = await bringUpFleet(emu, phones, DH_SAMPLE, 32);
    clients.push(...fleet.clients);
    const upMs = performance.now() - t0;
    const setupCpu = cpuSecondsOf(emu.pid) - cpuSetup0;
    for (const f of fleet.failures.slice(0, 5)) console.log(`  failed: ${f}`);
    await new Promise((r) => setTimeout(r, 1000));
    const rssConn = rssOf(emu.pid);
    const counters = await controlCall<{ liveConnections: number }>(
      emu.controlUrl,
      'GET',
      '/counters',
    );
    const conns = await controlCall<Array<{ receivesUpdates: boolean; userId?: number }>>(
      emu.controlUrl,
      'GET',
      '/connections',
    );
    const authorized = conns.filter((c) => c.receivesUpdates && c.userId !== undefined).length;
    const perConn = (rssConn - rssWorld) / Math.max(1, clients.length);
    const st = fleet.stats;
    rows.push(
      ['connections requested', int(N)],
      [
        'authorized update-receiving connections held',
        int(authorized),
        `${(authorized / TARGET_CONNECTIONS).toFixed(2)}× target ${int(TARGET_CONNECTIONS)}; server live: ${int(counters.liveConnections)}; failed: ${fleet.failures.length}`,
      ],
      [
        'real DH exchanges (sample)',
        int(st.dhCount),
        `${(st.dhMs / Math.max(1, st.dhCount)).toFixed(1)} ms each (latency), ${(st.sampleWallMs / 1000).toFixed(1)} s wall incl. login, 8 parallel`,
      ],
      [
        '  → 2,000 DH exchanges would take',
        `${(((st.sampleWallMs / Math.max(1, st.dhCount)) * 2000) / 1000).toFixed(0)} s`,
        'extrapolated from the sample wall time',
      ],
      [
        'real logins (sendCode + signIn)',
        int(st.dhCount),
        `${(st.loginMs / Math.max(1, st.dhCount)).toFixed(1)} ms each`,
      ],
      [
        'keys imported via control hook + connect + getState',
        int(st.importedCount),
        `${(st.importMs / 1000).toFixed(1)} s`,
      ],
      ['set-up: server CPU', `${setupCpu.toFixed(1)} s`, `wall ${(upMs / 1000).toFixed(1)} s`],
      ['server RSS idle / with users+channel', `${mb(rssIdle)} / ${mb(rssWorld)}`],
      ['server RSS with connections', mb(rssConn)],
      ['server RSS per connection', `${(perConn / 1024).toFixed(1)} KB`, 'emulator process alone'],
    );

    const rec = new UpdateRecorder(4_000_000);
    rec.attach(clients);
    ackTimer = setInterval(() => {
      for (const c of clients) c.flushAcks();
    }, 1000);
    console.log(
      `held ${authorized} connections; fan-out for ${SECONDS} s (window ${WINDOW} posts)…`,
    );
    const fan = await fanOutPhase(emu, rec, {
      sender,
      channelId,
      members: clients.length,
      seconds: SECONDS,
      window: WINDOW,
    });
    const rssPeak = rssOf(emu.pid);
    if (env.BENCH_DEBUG) {
      const hist = new Map<number, number>();
      for (const c of clients) hist.set(c.updates, (hist.get(c.updates) ?? 0) + 1);
      console.log(
        'per-client update counts',
        [...hist].sort((x, y) => x[0] - y[0]).slice(0, 10),
        'closed',
        clients.filter((c) => c.closed).length,
      );
      console.log(await controlCall(emu.controlUrl, 'GET', '/counters'));
    }
    rows.push(...phaseRows(fan));
    rows.push(
      [
        'fan-out: bench decrypt load',
        `${((fan.received / (fan.wallMs / 1000) / capacity) * 100).toFixed(0)} %`,
        'of the measured client decrypt capacity',
      ],
      ['server RSS after fan-out', mb(rssPeak)],
    );
    if (DM_SECONDS > 0) {
      console.log(`direct messages for ${DM_SECONDS} s…`);
      const dm = await directPhase(emu, rec, {
        sender,
        phones: phones.slice(0, clients.length),
        seconds: DM_SECONDS,
        concurrency: 32,
      });
      rows.push(...phaseRows(dm));
    }
    rows.push(['load average at end', load()]);
  } finally {
    if (ackTimer) clearInterval(ackTimer);
    for (const c of clients) c.close();
    await emu.stop();
  }
  printTable('tg-emulator benchmark (server in its own process)', rows);
  if (CPU_PROF) console.log(`CPU profile of the emulator written to ${CPU_PROF}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
