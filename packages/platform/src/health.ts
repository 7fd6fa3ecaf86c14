/**
 * Liveness and readiness. Each named check is an async function that
 * resolves when healthy and throws when not; it runs with a timeout.
 *
 * Liveness (`/healthz`) answers "should this process be restarted?" — keep
 * it to checks of the process itself (event loop alive). Readiness
 * (`/readyz`) answers "may it receive traffic?" — it runs every dependency
 * check (NATS, MongoDB, ...). Checks added with `{liveness: true}` run in
 * both.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Connection } from 'mongoose';

/** Result of one check. */
export interface CheckResult {
  ok: boolean;
  /** Failure message (safe: no secrets). */
  error?: string;
  latencyMs: number;
}

/** Result of a set of checks. */
export interface HealthReport {
  status: 'ok' | 'fail';
  checks: Record<string, CheckResult>;
}

/** A check: resolve = healthy, throw = unhealthy. */
export type HealthCheck = () => Promise<unknown> | unknown;

/** Named health checks with per-check timeouts. */
export class HealthRegistry {
  readonly #checks = new Map<string, { check: HealthCheck; liveness: boolean }>();
  readonly #timeoutMs: number;
  #shuttingDown = false;

  /** @param opts.timeoutMs per-check timeout (default 2000) */
  constructor(opts: { timeoutMs?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  /**
   * Adds (or replaces) a named check.
   *
   * @param opts.liveness also part of liveness (default: readiness only)
   */
  add(name: string, check: HealthCheck, opts: { liveness?: boolean } = {}): this {
    this.#checks.set(name, { check, liveness: opts.liveness ?? false });
    return this;
  }

  /** Marks the process as shutting down: readiness fails from now on (stop intake). */
  setShuttingDown(): void {
    this.#shuttingDown = true;
  }

  /** Runs the liveness checks (none registered → ok). */
  liveness(): Promise<HealthReport> {
    return this.#run([...this.#checks].filter(([, c]) => c.liveness));
  }

  /** Runs every check; fails while shutting down. */
  async readiness(): Promise<HealthReport> {
    const report = await this.#run([...this.#checks]);
    if (this.#shuttingDown) {
      report.status = 'fail';
      report.checks.shutdown = { ok: false, error: 'shutting down', latencyMs: 0 };
    }
    return report;
  }

  async #run(entries: Array<[string, { check: HealthCheck }]>): Promise<HealthReport> {
    const results = await Promise.all(
      entries.map(async ([name, { check }]) => [name, await this.#one(check)] as const),
    );
    const checks = Object.fromEntries(results);
    return { status: results.every(([, r]) => r.ok) ? 'ok' : 'fail', checks };
  }

  async #one(check: HealthCheck): Promise<CheckResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(check),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${this.#timeoutMs} ms`)),
            this.#timeoutMs,
          );
        }),
      ]);
      return { ok: true, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      return {
        ok: false,
        error: err instanceof Error ? err.message : String(err),
        latencyMs: Math.round(performance.now() - started),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Check: the NATS connection is open and answers a round trip (`flush`). */
export function natsCheck(nc: NatsConnection): HealthCheck {
  return async () => {
    if (nc.isClosed()) throw new Error('NATS connection closed');
    if (nc.isDraining()) throw new Error('NATS connection draining');
    await nc.flush();
  };
}

/** Check: the mongoose connection is connected and the server answers `ping`. */
export function mongoCheck(conn: Connection): HealthCheck {
  return async () => {
    if (conn.readyState !== 1)
      throw new Error(`MongoDB not connected (readyState ${conn.readyState})`);
    const db = conn.db;
    if (!db) throw new Error('MongoDB not connected');
    await db.command({ ping: 1 });
  };
}

/** Check: the event loop is not stalled (lag of a 0 ms timer below `maxLagMs`, default 1000). */
export function eventLoopCheck(maxLagMs = 1000): HealthCheck {
  return () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      setImmediate(() => {
        const lag = performance.now() - started;
        if (lag > maxLagMs) reject(new Error(`event loop lag ${Math.round(lag)} ms`));
        else resolve();
      });
    });
}
