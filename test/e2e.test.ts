/**
 * The fleet as a newcomer runs it: `npm start` (scripts/stack.ts) in a fresh
 * data dir with its own NATS and MongoDB-wire server, then `npm run demo`
 * (scripts/demo.ts) against it. Every service exports spans to a real OTLP/HTTP
 * receiver, and the test asserts the two traces the design promises:
 * REST call → gateway → auth (gRPC) → MongoDB, and inbound message →
 * connector → NATS → notifier → webhook POST.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type ReceivedSpan } from './e2e/otlp-receiver.js';

const SPAN_KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let stack: ChildProcess | undefined;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let stackLog = '';

function run(args: string[], extraEnv: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'tgbridge-e2e-'));
  // A port offset of its own so a developer's running stack does not collide.
  // 17300..19700 keeps every stack port (auth's gRPC port counts down from
  // 50051) below the kernel's ephemeral range (32768+), where the outgoing
  // connections of tests running alongside could already hold it.
  const offset = 17_300 + Math.floor(Math.random() * 2400);
  env = {
    ...process.env,
    TGBRIDGE_DATA_DIR: dataDir,
    TGBRIDGE_PORT_OFFSET: String(offset),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '300',
    // Its own infrastructure: the shared test NATS holds other tests' streams.
    NATS_URL: '',
    MONGO_URL: '',
    LOG_LEVEL: 'warn',
  };
  stack = run(['scripts/stack.ts'], {});
  for (const s of [stack.stdout!, stack.stderr!]) s.on('data', (c: Buffer) => (stackLog += c));
  // A first start may provision nats-server and FerretDB: allow minutes.
  const deadline = Date.now() + 300_000;
  while (!stackLog.includes('tgbridge is up.')) {
    if (stack.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the stack did not come up:\n${stackLog.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}, 330_000);

afterAll(async () => {
  if (stack && stack.exitCode === null) {
    const exited = new Promise((r) => stack!.once('exit', r));
    stack.kill('SIGINT');
    await exited;
  }
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `service kind name ×count` lines: what the receiver got, for failure messages. */
function summary(spans: ReceivedSpan[]): string {
  const counts = new Map<string, number>();
  for (const s of spans) {
    const key = `${s.service} kind=${s.kind} ${s.name} ${JSON.stringify(s.attributes).slice(0, 160)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} ×${n}`).join('\n');
}

function trace(spans: ReceivedSpan[], traceId: string): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === traceId);
}

/** True when `child` descends from `ancestor` inside one trace. */
function descends(spans: ReceivedSpan[], child: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let cur: ReceivedSpan | undefined = child;
  while (cur?.parentSpanId) {
    if (cur.parentSpanId === ancestor.spanId) return true;
    cur = byId.get(cur.parentSpanId);
  }
  return false;
}

async function eventually<T>(
  probe: () => T | undefined,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
  return undefined;
}

describe('the fleet end to end: npm start + npm run demo', () => {
  it('the demo walkthrough passes every step against the local stack', async () => {
    const demo = run(['scripts/demo.ts'], {});
    let out = '';
    for (const s of [demo.stdout!, demo.stderr!]) s.on('data', (c: Buffer) => (out += c));
    const code = await new Promise<number | null>((r) => demo.once('exit', r));
    expect(code, `demo output:\n${out}\n--- stack log (tail) ---\n${stackLog.slice(-6000)}`).toBe(
      0,
    );
    expect(out).toContain('Demo complete: every step passed.');
  }, 420_000);

  it('traces a REST call across gateway → auth (gRPC) → MongoDB', async () => {
    const found = await eventually(() => {
      const root = receiver.spans.find(
        (s) => s.service === 'gateway' && s.kind === SPAN_KIND.server && /request-qr/.test(s.name),
      );
      if (!root) return undefined;
      const spans = trace(receiver.spans, root.traceId);
      const grpcServer = spans.find(
        (s) =>
          s.service === 'auth' &&
          s.kind === SPAN_KIND.server &&
          s.attributes['rpc.system'] === 'grpc',
      );
      // db.system (older semantic conventions) or db.system.name (current ones).
      const db = spans.find(
        (s) =>
          s.service === 'auth' &&
          (s.attributes['db.system'] ?? s.attributes['db.system.name']) === 'mongodb',
      );
      return grpcServer && db ? { root, grpcServer, db, spans } : undefined;
    }, 30_000);
    expect(
      found,
      `a request-qr trace with an auth gRPC server span and a MongoDB span; got:\n${summary(receiver.spans)}`,
    ).toBeDefined();
    const { root, grpcServer, db, spans } = found!;
    expect(descends(spans, grpcServer, root)).toBe(true);
    expect(descends(spans, db, grpcServer)).toBe(true);
  }, 60_000);

  it('traces a send-message call across gateway → NATS request → the owning connector shard', async () => {
    const found = await eventually(() => {
      for (const root of receiver.spans.filter(
        (s) =>
          s.service === 'gateway' && s.kind === SPAN_KIND.server && /send-message/.test(s.name),
      )) {
        const spans = trace(receiver.spans, root.traceId);
        const request = spans.find(
          (s) => s.service === 'gateway' && s.kind === SPAN_KIND.client && s.name === 'send tg.cmd',
        );
        const handled = spans.find(
          (s) => s.service === 'connector' && s.name === 'process tg.cmd.send_message',
        );
        if (request && handled) return { root, request, handled, spans };
      }
      return undefined;
    }, 30_000);
    expect(
      found,
      `a send-message trace with the gateway's NATS request and the connector's handling; got:\n${summary(receiver.spans)}`,
    ).toBeDefined();
    const { root, request, handled, spans } = found!;
    expect(request.attributes['messaging.system']).toBe('nats');
    expect(descends(spans, request, root)).toBe(true);
    expect(descends(spans, handled, request)).toBe(true);
  }, 60_000);

  it('traces an inbound message across connector → NATS → notifier → webhook POST', async () => {
    const found = await eventually(() => {
      for (const publish of receiver.spans.filter(
        (s) =>
          s.service === 'connector' &&
          s.kind === SPAN_KIND.producer &&
          s.attributes['messaging.system'] === 'nats',
      )) {
        const spans = trace(receiver.spans, publish.traceId);
        const consume = spans.find(
          (s) => s.service === 'notifier' && s.kind === SPAN_KIND.consumer,
        );
        const post = spans.find(
          (s) =>
            s.service === 'notifier' &&
            s.kind === SPAN_KIND.client &&
            String(s.attributes['http.request.method'] ?? s.name).includes('POST'),
        );
        if (consume && post) return { publish, consume, post, spans };
      }
      return undefined;
    }, 30_000);
    expect(
      found,
      `a trace from a connector publish through the notifier to the webhook POST; got:
${summary(receiver.spans)}`,
    ).toBeDefined();
    const { publish, consume, post, spans } = found!;
    expect(descends(spans, consume, publish)).toBe(true);
    expect(descends(spans, post, publish)).toBe(true);
  }, 60_000);
});
