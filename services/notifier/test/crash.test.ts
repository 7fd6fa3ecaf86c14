/**
 * Crash recovery: the notifier runs as a child process (`tsx
 * services/notifier/src/main.ts`), is SIGKILLed while 1,000 events stream
 * through it, and is started again: every event is delivered, and the only
 * duplicates are deliveries that were in flight at the kill.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { MAX_UNRECORDED } from '../src/delivery/engine.js';
import {
  Bus,
  dbUrl,
  messageEvent,
  receiver,
  rid,
  testEnv,
  waitFor,
  whsec,
  type Receiver,
} from './harness.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TENANT = rid('t');
const N = 1000;

let bus: Bus;
let r: Receiver;
let env: Record<string, string>;
let stream: string;
let child: ChildProcess | undefined;
/** Output of the running child (shown when the test fails). */
let childOut = '';

function start(): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'services/notifier/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, OTEL_SDK_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  childOut = '';
  p.stdout!.on('data', (b: Buffer) => (childOut = (childOut + b.toString()).slice(-20_000)));
  p.stderr!.on('data', (b: Buffer) => (childOut = (childOut + b.toString()).slice(-20_000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`notifier did not start:\n${out.slice(-2000)}`)),
      60_000,
    );
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('"msg":"notifier started"')) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes('notifier started'))
        reject(new Error(`notifier exited (${code}):\n${out.slice(-2000)}`));
    });
  });
}

beforeAll(async () => {
  bus = await Bus.open(inject('natsUrl'));
  r = await receiver();
  env = testEnv({
    NATS_URL: inject('natsUrl'),
    MONGO_URL: dbUrl(inject('mongoUrl'), 'notifier_crash'),
    NOTIFIER_EVENTS_FILTER: `tg.evt.${TENANT}.>`,
    LARAVEL_BASE_URL: r.url,
    WEBHOOK_SECRET_TOKEN: 'crash-token',
    WEBHOOK_SIGNING_SECRET: whsec(),
    WEBHOOK_LEASE_MS: '2s',
    NOTIFIER_ACK_WAIT_MS: '2s',
    LOG_LEVEL: 'info',
  });
  stream = await bus.ensureTenantStream(env.EVENTS_STREAM!, TENANT);
  env.EVENTS_STREAM = stream;
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await r?.close();
  if (stream?.startsWith('NFEVT')) await bus.deleteStream(stream);
  await bus?.close();
});

it('SIGKILL mid-stream with 1,000 events: after restart all are delivered, duplicates only among in-flight', async () => {
  // a little receiver latency keeps deliveries in flight
  r.reply = () => ({ status: 200 });
  child = await start();
  const sessions = Array.from({ length: 20 }, () => crypto.randomUUID());
  const order = new Map<string, string[]>();
  const ids: string[] = [];
  let killedAt = 0;
  const publishing = (async () => {
    for (let i = 0; i < N; i++) {
      const s = sessions[i % sessions.length]!;
      const e = messageEvent({
        tenant: TENANT,
        agent: 'agent1',
        session: s,
        sequence: Math.floor(i / sessions.length) + 1,
      });
      ids.push(e.eventId);
      order.set(s, [...(order.get(s) ?? []), e.eventId]);
      await bus.publish(e);
      if (i % 50 === 0) await new Promise((res) => setTimeout(res, 5));
    }
  })();
  await waitFor(() => r.received.length >= 300, 60_000, '300 deliveries before the kill');
  child.kill('SIGKILL');
  killedAt = Date.now();
  await new Promise((res) => child!.once('exit', res));
  // requests already on the wire may still arrive until the process is gone
  const exitedAt = Date.now();
  const beforeKill = r.received.length;
  await publishing;
  child = await start();
  await waitFor(
    () => new Set(r.received.map((x) => x.json.event_id)).size === N,
    120_000,
    'all 1000 delivered',
  ).catch((err: Error) => {
    const got = new Set(r.received.map((x) => x.json.event_id)).size;
    throw new Error(`${err.message} (${got} of ${N}); notifier output:\n${childOut.slice(-6000)}`);
  });
  await new Promise((res) => setTimeout(res, 1000));
  const got = new Set(r.received.map((x) => x.json.event_id as string));
  expect(got).toEqual(new Set(ids));
  // duplicates: only events whose first delivery happened before the kill (in flight, not yet recorded)
  const firstAt = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const x of r.received) {
    const id = x.json.event_id as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    if (!firstAt.has(id)) firstAt.set(id, x.at);
  }
  const dups = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  for (const id of dups) expect(firstAt.get(id)!).toBeLessThanOrEqual(exitedAt);
  // bound: requests in flight (WEBHOOK_ENDPOINT_CONCURRENCY, 32) + finished but not yet recorded (MAX_UNRECORDED)
  expect(dups.length).toBeLessThanOrEqual(32 + MAX_UNRECORDED);
  // per session, first receipts are in publish order
  for (const [s, expected] of order) {
    const seen: string[] = [];
    for (const x of r.received) {
      const id = x.json.event_id as string;
      if (x.json.session_id === s && !seen.includes(id)) seen.push(id);
    }
    // on failure: each receipt as <position in the session>@<ms after the kill>
    const receipts = r.received
      .filter((x) => x.json.session_id === s)
      .map((x) => `${expected.indexOf(x.json.event_id as string)}@${x.at - killedAt}`);
    expect(seen, `receipts of session ${s}: ${receipts.join(' ')}`).toEqual(expected);
  }
  console.log(
    `crash test: ${beforeKill} delivered before the kill, ${dups.length} duplicates after restart, ${r.received.length} requests in all`,
  );
}, 240_000);
