/**
 * Push phases of the emulator benchmark. Messages are sent through the
 * control API with a send timestamp embedded in the text
 * (`bench:<seq>:<epoch ms>`); raw clients find it in the decrypted update
 * bytes, so latency = control request sent → update decrypted by a client.
 */
import type { RawClient } from './raw-client.js';
import { controlCall, mapPool } from './control-client.js';
import { cpuSecondsOf, type EmulatorProcess } from './emulator-process.js';

const MARK = Buffer.from('bench:');
const nowMs = (): number => performance.timeOrigin + performance.now();

/** Counts received updates and records their latency. */
export class UpdateRecorder {
  received = 0;
  latencies: Float64Array;
  n = 0;
  private waiter: { target: number; resolve: () => void } | undefined;

  constructor(capacity: number) {
    this.latencies = new Float64Array(capacity);
  }

  /** Installs the recorder on every client. */
  attach(clients: RawClient[]): void {
    for (const c of clients) c.onUpdate = (body) => this.onUpdate(body);
  }

  /** Restarts counting. */
  reset(): void {
    this.received = 0;
    this.n = 0;
  }

  private onUpdate(body: Buffer): void {
    this.received++;
    const i = body.indexOf(MARK);
    if (i >= 0 && this.n < this.latencies.length) {
      const m = /^bench:\d+:(\d+\.\d+)/.exec(body.toString('latin1', i, i + 48));
      if (m) this.latencies[this.n++] = nowMs() - Number(m[1]);
    }
    if (this.waiter && this.received >= this.waiter.target) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve();
    }
  }

  /** Resolves once `target` updates arrived, or after `ms`. */
  waitFor(target: number, ms: number): Promise<void> {
    if (this.received >= target) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, ms);
      this.waiter = {
        target,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
    });
  }
}

/** Outcome of one push phase. */
export interface PhaseResult {
  name: string;
  /** Control API sends. */
  sends: number;
  /** Updates the clients should receive. */
  expected: number;
  received: number;
  wallMs: number;
  serverCpuS: number;
  clientCpuS: number;
  latencies: Float64Array;
}

async function measured(
  emu: EmulatorProcess,
  rec: UpdateRecorder,
  name: string,
  run: () => Promise<{ sends: number; expected: number }>,
): Promise<PhaseResult> {
  rec.reset();
  const cpu0 = cpuSecondsOf(emu.pid);
  const me0 = process.cpuUsage();
  const t0 = performance.now();
  const { sends, expected } = await run();
  await rec.waitFor(expected, 15_000);
  const wallMs = performance.now() - t0;
  const me = process.cpuUsage(me0);
  return {
    name,
    sends,
    expected,
    received: rec.received,
    wallMs,
    serverCpuS: cpuSecondsOf(emu.pid) - cpu0,
    clientCpuS: (me.user + me.system) / 1e6,
    latencies: rec.latencies.slice(0, rec.n),
  };
}

/**
 * Fan-out: one sender posts into a channel/supergroup whose members are the
 * N clients; each post becomes N updates. Closed loop: at most `window`
 * posts are outstanding (sent but not yet received by every client).
 */
export function fanOutPhase(
  emu: EmulatorProcess,
  rec: UpdateRecorder,
  opts: { sender: string; channelId: number; members: number; seconds: number; window: number },
): Promise<PhaseResult> {
  return measured(emu, rec, 'channel fan-out', async () => {
    const end = performance.now() + opts.seconds * 1000;
    let seq = 0;
    const inflight = new Set<Promise<unknown>>();
    while (performance.now() < end) {
      // Wait until all but `window - 1` earlier posts reached every member.
      await rec.waitFor((seq - opts.window + 1) * opts.members, 2000);
      const s = seq++;
      const p = controlCall(emu.controlUrl, 'POST', '/messages', {
        from: opts.sender,
        to: { channel: opts.channelId },
        text: `bench:${s}:${nowMs().toFixed(3)}`,
      }).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= opts.window) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    return { sends: seq, expected: seq * opts.members };
  });
}

/**
 * Direct messages: one control API request per update (sender → member i,
 * round robin), `concurrency` requests in flight, for `seconds`.
 */
export function directPhase(
  emu: EmulatorProcess,
  rec: UpdateRecorder,
  opts: { sender: string; phones: string[]; seconds: number; concurrency: number },
): Promise<PhaseResult> {
  return measured(emu, rec, 'direct messages', async () => {
    const end = performance.now() + opts.seconds * 1000;
    let seq = 0;
    const workers = Array.from({ length: opts.concurrency }, (_, i) => i);
    await mapPool(workers, opts.concurrency, async () => {
      while (performance.now() < end) {
        const s = seq++;
        await controlCall(emu.controlUrl, 'POST', '/messages', {
          from: opts.sender,
          to: { user: opts.phones[s % opts.phones.length] },
          text: `bench:${s}:${nowMs().toFixed(3)}`,
        });
      }
    });
    return { sends: seq, expected: seq };
  });
}
