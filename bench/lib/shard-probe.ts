/**
 * Reads a connector shard process from outside: Prometheus gauges from its
 * ops server (`/metrics`), RSS and CPU time from /proc, and the machine load.
 */
import { loadavg } from 'node:os';
import { cpuSecondsOf, rssOf } from './emulator-process.js';

export { cpuSecondsOf, rssOf };

/**
 * Value of an unlabelled-or-shard-labelled metric (first series of `name`)
 * from `http://127.0.0.1:<port>/metrics`, summed over series; NaN when the
 * shard does not answer.
 */
export async function metricValue(port: number, name: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    let sum = 0;
    let seen = false;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== ' ' && rest[0] !== '{') continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      seen = true;
    }
    return seen ? sum : NaN;
  } catch {
    return NaN;
  }
}

/** Live sessions of the shard (`tgbridge_connector_live_sessions`). */
export const liveSessions = (port: number): Promise<number> =>
  metricValue(port, 'tgbridge_connector_live_sessions');

/** 1/5/15-minute load averages, formatted. */
export function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/**
 * Polls `probe` every `stepMs` until it returns at least `target`; resolves
 * with the elapsed ms, or undefined after `timeoutMs`. `onStep` sees every
 * value (progress output).
 */
export async function waitForCount(
  probe: () => Promise<number>,
  target: number,
  timeoutMs: number,
  stepMs = 200,
  onStep?: (v: number, ms: number) => void,
): Promise<number | undefined> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    const ms = Date.now() - t0;
    onStep?.(v, ms);
    if (v >= target) return ms;
    if (ms > timeoutMs) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
