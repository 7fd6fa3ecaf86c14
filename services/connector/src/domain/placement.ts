/**
 * Placement: decides which sessions this shard runs. A session belongs here
 * when rendezvous hashing over the live members picks this shard; the shard
 * then takes the session's lease and only then connects. Sessions that move
 * away are handed off cleanly (disconnect, then release the lease), so the new
 * owner — which retries acquiring on every placement pass and on every lease
 * deletion — connects only after the old connection is closed.
 *
 * Start-up and rebalancing connect at most `concurrency` sessions at a time.
 * One shared scheduler drives every runner (reconnects, keepalives), lease
 * refreshes and state checkpoints: no per-session intervals.
 */
import type { Logger } from '@tgbridge/platform/logging';
import type { LiveSessionRef, SessionsRepo } from '../infra/sessions-repo.js';
import type { Metrics } from '../metrics.js';
import type { Leases } from './leases.js';
import type { Membership } from './membership.js';
import { ownerOf } from './rendezvous.js';
import type { SessionRunner } from './session-runner.js';

/** How long a hand-off waits for its session's final checkpoint before releasing the lease anyway, ms. */
export const HANDOFF_WRITE_WAIT_MS = 5_000;

/** Retry delay for a wanted session whose lease is held elsewhere, ms. */
export const ACQUIRE_RETRY_MS = 500;

/** Placement settings (ms). */
export interface PlacementOptions {
  shardId: string;
  concurrency: number;
  placementIntervalMs: number;
  leaseRefreshMs: number;
  stateFlushMs: number;
  /** Scheduler granularity for runner ticks. */
  tickMs: number;
}

/** Hooks a runner needs wired to the shard (command subscription). */
export interface RunnerFactory {
  create(ref: LiveSessionRef): SessionRunner;
  /** Called after a runner started (subscribe its commands). */
  attached(r: SessionRunner): void;
  /** Called before a runner stops (unsubscribe its commands). */
  detached(r: SessionRunner): void;
}

/** The shard's placement loop and runner registry. */
export class Placement {
  private readonly known = new Map<string, LiveSessionRef>();
  private readonly runners = new Map<string, SessionRunner>();
  private readonly pending = new Set<string>();
  private readonly stopping = new Map<string, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private passRunning = false;
  private flushing: Promise<void> | undefined;
  private passAgain = false;
  private closed = false;
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly o: PlacementOptions,
    private readonly membership: Membership,
    private readonly leases: Leases,
    private readonly repo: SessionsRepo,
    private readonly factory: RunnerFactory,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** The runner of a session on this shard, if any. */
  runner(id: string): SessionRunner | undefined {
    return this.runners.get(id);
  }

  /** Runners on this shard. */
  all(): SessionRunner[] {
    return [...this.runners.values()];
  }

  /** Sessions connected to Telegram on this shard. */
  liveCount(): number {
    let n = 0;
    for (const r of this.runners.values()) if (r.live) n++;
    return n;
  }

  /** Replaces the known live sessions (MongoDB reconcile). */
  setKnown(refs: LiveSessionRef[]): void {
    this.known.clear();
    for (const r of refs) this.known.set(r.id, r);
    this.schedulePass();
  }

  /** Adds or refreshes one session (session_authorized). */
  addKnown(ref: LiveSessionRef): void {
    this.known.set(ref.id, ref);
    this.schedulePass();
  }

  /** Removes a session (logged out, expired); its runner stops and its lease is released. */
  removeKnown(id: string): void {
    this.known.delete(id);
    this.schedulePass();
  }

  /** Starts the shared timers. */
  start(): void {
    this.membership.onChange(() => this.schedulePass());
    this.timers.push(setInterval(() => this.schedulePass(), this.o.placementIntervalMs));
    this.timers.push(
      setInterval(
        () =>
          void this.leases.refreshAll().then(() => this.metrics.leasesHeld.set(this.leases.size)),
        this.o.leaseRefreshMs,
      ),
    );
    this.timers.push(setInterval(() => void this.flush(), this.o.stateFlushMs));
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        for (const r of this.runners.values()) r.tick(now);
        this.metrics.members.set(this.membership.members().length);
        this.metrics.stateWritesPending.set(this.repo.pendingWrites);
      }, this.o.tickMs),
    );
    this.schedulePass();
  }

  /** Requests a placement pass soon (coalesced). */
  schedulePass(): void {
    if (this.closed) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    this.passRunning = true;
    setImmediate(() => {
      void this.pass().finally(() => {
        this.passRunning = false;
        if (this.passAgain && !this.closed) {
          this.passAgain = false;
          this.schedulePass();
        }
      });
    });
  }

  private wants(id: string, members: string[]): boolean {
    return this.known.has(id) && ownerOf(id, members) === this.o.shardId;
  }

  private async pass(): Promise<void> {
    const members = this.membership.members();
    for (const [id, r] of this.runners) {
      if (!this.wants(id, members) || r.status === 'stopped')
        void this.handOff(id, r.status === 'stopped' ? 'stopped' : 'moved');
    }
    for (const id of this.known.keys()) {
      if (this.runners.has(id) || this.pending.has(id) || this.stopping.has(id)) continue;
      if (!this.wants(id, members)) continue;
      this.pending.add(id);
      void this.startOne(id).finally(() => this.pending.delete(id));
    }
  }

  private async slot(): Promise<void> {
    if (this.active < this.o.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
  }

  private unslot(): void {
    this.active--;
    this.waiters.shift()?.();
  }

  private async startOne(id: string): Promise<void> {
    await this.slot();
    try {
      const ref = this.known.get(id);
      if (this.closed || !ref || !this.wants(id, this.membership.members())) return;
      if (!(await this.leases.acquire(id))) {
        this.retrySoon();
        return;
      }
      this.metrics.leasesHeld.set(this.leases.size);
      const r = this.factory.create(ref);
      this.runners.set(id, r);
      this.factory.attached(r);
      await r.start();
    } catch (e) {
      this.log.error({ err: e, session_id: id }, 'start failed');
    } finally {
      this.unslot();
    }
  }

  /**
   * A wanted session's lease is still held elsewhere (a hand-off in progress,
   * or a dead shard's lease not yet expired; expiry makes no watch event):
   * try again after {@link ACQUIRE_RETRY_MS} rather than the placement interval.
   */
  private retrySoon(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedulePass();
    }, ACQUIRE_RETRY_MS);
  }

  /** Disconnects a session and then releases its lease. */
  handOff(id: string, why: string): Promise<void> {
    const existing = this.stopping.get(id);
    if (existing) return existing;
    const r = this.runners.get(id);
    const p = (async () => {
      if (r) {
        this.log.info({ session_id: id, why }, 'handing off session');
        this.factory.detached(r);
        await r.stop();
        await this.flushOne(r);
        this.runners.delete(id);
      }
      await this.leases.release(id);
      this.metrics.leasesHeld.set(this.leases.size);
    })().finally(() => {
      this.stopping.delete(id);
      this.schedulePass();
    });
    this.stopping.set(id, p);
    return p;
  }

  /**
   * A lease was lost: disconnect now, persist the acknowledged state, then
   * delete the KV entry if it is still the one this shard wrote (`revision`),
   * so the session can be placed again without waiting for the TTL.
   */
  leaseLost(id: string, revision: number): void {
    const r = this.runners.get(id);
    if (!r || this.stopping.has(id)) return;
    this.factory.detached(r);
    this.runners.delete(id);
    const p = (async () => {
      await r.stop();
      await this.flushOne(r);
      await this.leases.releaseLost(id, revision);
    })().finally(() => {
      this.stopping.delete(id);
      this.schedulePass();
    });
    this.stopping.set(id, p);
  }

  /** A runner found its session revoked: forget it and release the lease. */
  expired(id: string): void {
    this.known.delete(id);
    void this.handOff(id, 'expired');
  }

  /**
   * Writes a stopped runner's last checkpoint (or the one a periodic flush
   * already queued) ahead of the periodic ones,
   * waiting at most {@link HANDOFF_WRITE_WAIT_MS}: a lease is never held
   * back longer than that for a slow store. (If the write lands later, the
   * next owner may start from the older state: it re-publishes some events,
   * which JetStream drops as duplicates; nothing is lost.)
   */
  private async flushOne(r: SessionRunner): Promise<void> {
    const cp = r.takeCheckpoint();
    let timer: NodeJS.Timeout | undefined;
    try {
      const done = await Promise.race([
        (cp ? this.repo.saveCheckpoint(cp, true) : this.repo.expedite(r.id)).then(() => true),
        new Promise<false>((res) => (timer = setTimeout(() => res(false), HANDOFF_WRITE_WAIT_MS))),
      ]);
      if (!done)
        this.log.warn(
          { session_id: r.id, wait_ms: HANDOFF_WRITE_WAIT_MS },
          'hand-off checkpoint still queued; releasing the session anyway',
        );
    } catch (e) {
      this.log.error({ err: e, session_id: r.id }, 'state checkpoint failed');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Persists the acknowledged update state of every runner that changed (one
   * bulk write). A flush that is still running makes the next timer tick a
   * no-op, so slow writes never pile up.
   */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.flushNow().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    const runners: SessionRunner[] = [];
    const items = [];
    for (const r of this.runners.values()) {
      const cp = r.takeCheckpoint();
      if (cp) {
        runners.push(r);
        items.push(cp);
      }
    }
    try {
      await this.repo.saveCheckpoints(items);
    } catch (e) {
      for (const r of runners) r.checkpointFailed();
      this.log.error({ err: e }, 'state checkpoint failed');
    }
  }

  /** Stops timers, disconnects every session and releases every lease. */
  async stop(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.retryTimer);
    await Promise.all([...this.runners.keys()].map((id) => this.handOff(id, 'shutdown')));
    await Promise.all([...this.stopping.values()]);
  }
}
