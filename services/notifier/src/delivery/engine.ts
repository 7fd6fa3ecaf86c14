/**
 * The delivery engine: leases lanes, attempts the head of every session
 * queue in them, retries on the schedule, dead-letters after the last
 * attempt, disables endpoints on 410 or long failure, and records every
 * attempt.
 *
 * Work sharing: lanes (`<endpoint>:<partition>`) live in `delivery_lanes`.
 * A replica claims a lane whose lease expired and that has due work by
 * inserting its claim document `<lane>#<gen>` (a unique key decides between
 * replicas, also where conditional updates are not atomic, as on FerretDB),
 * then taking the lease; it renews the lease every LEASE/3 while it
 * has work, and releases it (conditional on the lane's change counter `v`,
 * so a concurrent enqueue is never lost) when empty. A crashed replica's
 * lanes are taken over when the lease expires; what it had in flight is
 * attempted again (duplicates only among in-flight deliveries).
 *
 * Ordering: within a lane, each session's deliveries are attempted one at a
 * time in JetStream stream order; a failing head holds back only its own
 * session (for this endpoint). A delivery is only attempted once every event
 * up to its stream sequence has been recorded (the intake consumer's ack
 * floor), so an event whose intake was delayed cannot be overtaken. A
 * replica that queues deliveries into a lane another holds wakes the holder
 * before acknowledging them; the holder delivers nothing past its floor of
 * that moment in the lane until it has loaded them.
 *
 * Isolation: each endpoint has its own concurrency cap and circuit breaker;
 * retries wait in MongoDB, never in the JetStream consumer's pending window.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Event } from '@tgbridge/proto/events/v1/events';
import { EventType } from '@tgbridge/proto/subjects';
import { isDuplicateKeyError } from '@tgbridge/platform/mongo';
import { CIRCUIT_STATE_VALUE, CircuitBreaker } from '../domain/circuit.js';
import {
  classify,
  describe,
  isSlowDown,
  retryAfterHeader,
  type AttemptResult,
} from '../domain/outcome.js';
import { nextDelayMs, parseRetryAfter } from '../domain/schedule.js';
import { signatureHeaders } from '../domain/signing.js';
import {
  EPOCH,
  FAR_FUTURE,
  type AttemptDoc,
  type Collections,
  type DeliveryDoc,
  type FinalStatus,
  type LaneDoc,
  type QueueDoc,
} from '../infra/collections.js';
import type { EndpointStore, LiveEndpoint } from '../infra/endpoints.js';
import type { WebhookHttpClient } from '../infra/http-client.js';
import { laneLocks, type LaneLocks } from '../infra/lane-locks.js';
import {
  enqueue,
  loadLanePage,
  sweepDone,
  unfinishedEntries,
  type Recorder,
} from '../infra/queue.js';
import type { NotifierPublisher } from '../infra/streams.js';
import { endAttemptSpan, startAttemptSpan } from '../infra/tracing.js';
import type { NotifierMetrics } from '../metrics.js';
import { LaneState, SESSION_KEEP_MS, type SessionQueue } from './lane.js';

/** Settings of the engine (from NotifierConfig). */
export interface EngineSettings {
  retryScheduleMs: number[];
  jitter: number;
  timeoutMs: number;
  endpointConcurrency: number;
  globalConcurrency: number;
  leaseMs: number;
  /**
   * Deliveries of one lane held in memory: a longer lane is loaded in pages
   * of this many, lowest stream sequence first, and what lies beyond the
   * page waits for the next one.
   */
  laneMemory: number;
  pollMs: number;
  disableAfterMs: number;
  circuitCooldownMs: number;
  userAgent: string;
  /** Fast-path window (ms), as intake uses it; 0 when the fast path is off. */
  fastPathMs: number;
}

/** Dependencies of the engine. */
export interface EngineDeps {
  c: Collections;
  endpoints: EndpointStore;
  http: WebhookHttpClient;
  recorder: Recorder;
  publisher: NotifierPublisher;
  metrics: NotifierMetrics;
  logger: Logger;
  /** Current ack floor of the intake consumer (all events ≤ it are recorded). */
  readFloor: () => Promise<number>;
}

/**
 * At most this many finished deliveries may wait for their record to be
 * written; beyond it no new attempt starts. Bounds the duplicates a crash
 * can cause to this plus the requests in flight.
 */
export const MAX_UNRECORDED = 1024;

/**
 * A fast-path delivery may have at most this many deliveries of its
 * session ahead of it in its lane; more means a backlog, and it is queued.
 */
export const FAST_BACKLOG = 32;

/**
 * Queue writes of refused fast-path deliveries ("spills") are grouped: with
 * an endpoint dead, every one of its deliveries is refused, and each
 * insert has a fixed cost in the driver (at 1,000 deliveries/s, one insert
 * per 20 ms cost the notifier 3-5 points of a core). A write waits until
 * SPILL_BATCH deliveries wait, at least SPILL_MIN_INTERVAL_MS (ms) after the
 * last one, or until SPILL_MAX_INTERVAL_MS (ms) after it whatever waits.
 * Their messages are acknowledged that much later: a fixed 100 ms held so
 * many messages of a busy intake unacknowledged that the consumer's
 * MaxAckPending throttled it.
 */
const SPILL_MIN_INTERVAL_MS = 20;
const SPILL_MAX_INTERVAL_MS = 100;
const SPILL_BATCH = 128;

/** How often a paged lane of a stuck endpoint checks whether to load its next page (ms). */
const STUCK_RECHECK_MS = 250;

/**
 * A fast-path delivery: handed to a held lane straight from intake, before
 * any queue entry exists; its JetStream message waits for `durable`.
 */
interface FastEntry {
  /** The live item (the lane's own object: attempts and dueAt change in place). */
  item: QueueDoc;
  /** Finished; its record is waiting for the recorder's next flush. */
  finishing: boolean;
  /** Given a queue entry by intake after the fast-path window (or by a failed attempt). */
  spilled: boolean;
  /** Resolves the promise intake waits on. */
  resolve: () => void;
}

/** What a {@link FastEntry} holds once it is durable and out of the map. */
const RELEASED_ITEM = {} as QueueDoc;
const noop = (): void => {};

/** Trace id of a W3C traceparent, for logs. */
function traceIdOf(tp: string | null): string | undefined {
  return tp?.split('-')[1];
}

/** Delivers queued webhooks. One per process. */
export class DeliveryEngine {
  /** Lease owner id of this process. */
  readonly owner = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly #lanes = new Map<string, LaneState>();
  readonly #claiming = new Set<string>();
  readonly #circuits = new Map<string, CircuitBreaker>();
  /** Per endpoint: requests in flight and when one last started from idle or finished (epoch ms). */
  readonly #flow = new Map<string, { inFlight: number; lastProgress: number }>();
  #inFlight = 0;
  /** Delivery ids being attempted right now (a reload must not queue them twice). */
  readonly #attempting = new Set<string>();
  #floor = 0;
  /** Lanes with a head beyond the known ack floor (pumped when it rises). */
  readonly #floorWaiters = new Set<LaneState>();
  /** Per endpoint: lanes that found no free slot (pumped when one frees). */
  readonly #slotWaiters = new Map<string, Set<LaneState>>();
  #timers: NodeJS.Timeout[] = [];
  #heldBack = false;
  #stopping = false;
  #idle: Array<() => void> = [];
  /** Fast-path deliveries not yet durable, by delivery id. */
  readonly #fast = new Map<string, FastEntry>();
  /** Lane id → queue writes of fast-path deliveries it held when it was dropped. */
  readonly #spilling = new Map<string, Promise<void>>();
  /** {@link queueFast} calls waiting for the spill writer. */
  #spills: Array<{ items: QueueDoc[]; done: (ok: boolean) => void }> = [];
  #spillWriting = false;
  #lastSpill = 0;
  /** Deliveries in `#spills`; `#spillFull` cuts the writer's wait short once they reach SPILL_BATCH. */
  #spilled = 0;
  #spillFull: (() => void) | undefined;
  /**
   * The latest {@link queueFast} call's write: once it is done, so is every
   * earlier one (they are written in order). A reload waits for it, or a
   * delivery spilled beyond a lane's page could miss the page load meant
   * to bring it in, and the lane would not know of it.
   */
  #spillTail: Promise<unknown> = Promise.resolve();
  /** This replica's writes to lane documents, one at a time per lane. */
  readonly #locks: LaneLocks;
  /**
   * No request of an endpoint finished for this long (ms) while some are in
   * flight: it is stalled ({@link #stalled}). A quarter of the fast-path
   * window, so that its deliveries stop holding JetStream messages well
   * within it; at least 50 ms.
   */
  readonly #stallMs: number;

  constructor(
    private readonly d: EngineDeps,
    private readonly s: EngineSettings,
  ) {
    this.#locks = laneLocks(d.c.lanes);
    this.#stallMs = Math.max(50, Math.floor(s.fastPathMs / 4));
    d.recorder.onFlushed = (ids) => {
      for (const id of ids) this.#durable(id);
      if (this.#heldBack && d.recorder.pendingIds.size < MAX_UNRECORDED) {
        this.#heldBack = false;
        for (const lane of this.#lanes.values()) this.#pump(lane);
      }
    };
  }

  /** Starts polling for due lanes and renewing leases. */
  start(): void {
    const every = (ms: number, fn: () => Promise<void>) => {
      let running = false;
      const t = setInterval(() => {
        if (running || this.#stopping) return;
        running = true;
        fn()
          .catch((err: unknown) =>
            this.d.logger.warn({ err: (err as Error).message }, 'engine loop failed'),
          )
          .finally(() => (running = false));
      }, ms);
      this.#timers.push(t);
    };
    every(this.s.pollMs, () => this.#poll());
    every(Math.max(50, Math.floor(this.s.leaseMs / 3)), () => this.#renew());
    every(15_000, () => this.#stats());
    every(1_000, async () => {
      await sweepDone(this.d.c, 2000, 2000);
    });
    void this.#poll().catch(() => {});
  }

  /** Stops: no new attempts, waits for in-flight ones (up to `timeoutMs`), flushes, releases lanes. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    this.#spillFull?.(); // waiting spills are written now
    for (const t of this.#timers) clearInterval(t);
    for (const lane of this.#lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    if (this.#inFlight > 0) {
      await Promise.race([
        new Promise<void>((r) => this.#idle.push(r)),
        new Promise((r) => setTimeout(r, timeoutMs)),
      ]);
    }
    await this.d.recorder.close();
    const now = new Date();
    await Promise.all(
      [...this.#lanes.values()].map((lane) =>
        this.#locks
          .run([lane.id], () =>
            this.d.c.lanes.updateOne(
              { _id: lane.id, owner: this.owner },
              {
                $set: { owner: null, leaseUntil: EPOCH },
                $min: { dueAt: lane.size() > 0 || lane.pageEnd < Infinity ? now : FAR_FUTURE },
              },
            ),
          )
          .then(() => this.#missedAtRelease(lane))
          .catch(() => undefined),
      ),
    );
    this.#lanes.clear();
  }

  /** Raises the known ack floor; deliveries waiting for it become eligible. */
  setFloor(floor: number): void {
    if (floor <= this.#floor) return;
    this.#floor = floor;
    const waiting = [...this.#floorWaiters];
    this.#floorWaiters.clear();
    for (const lane of waiting) this.#pump(lane);
  }

  /** The known ack floor. */
  get floor(): number {
    return this.#floor;
  }

  /** A snapshot of the engine's state, for diagnostics and tests. */
  debugState(): Record<string, unknown> {
    return {
      floor: this.#floor,
      floorWaiting: this.#floorWaiters.size > 0,
      heldBack: this.#heldBack,
      unrecorded: this.d.recorder.pendingIds.size,
      inFlight: this.#inFlight,
      claiming: [...this.#claiming],
      lanes: [...this.#lanes.values()].map((l) => ({
        id: l.id,
        loading: l.loading,
        releasing: l.releasing,
        reloading: l.reloading,
        pins: l.pins,
        v: l.v,
        holdAbove: l.holdAbove,
        count: l.count,
        pageEnd: l.pageEnd,
        inFlight: l.inFlight,
        timerAt: l.timer ? l.timerAt - Date.now() : null,
        leaseLeftMs: l.leaseUntil - Date.now(),
        sessions: [...l.sessions.values()].map((q) => ({
          busy: q.busy,
          n: q.items.length,
          headSeq: q.items[0]?.streamSeq,
          headDueIn: q.items[0] ? q.items[0].dueAt.getTime() - Date.now() : null,
        })),
      })),
    };
  }

  /** Lanes held by this replica (ids). */
  heldLanes(): string[] {
    return [...this.#lanes.keys()];
  }

  /**
   * Pins the lanes this replica holds (and is not releasing) so they stay
   * held until {@link offer} hands over the intake's new items; intake skips
   * the lane bump for them (a held lane is already due in MongoDB).
   *
   * @returns the ids pinned; pass them to offer()
   */
  pin(laneIds: Iterable<string>): Set<string> {
    const pinned = new Set<string>();
    if (this.#stopping) return pinned;
    for (const id of laneIds) {
      const lane = this.#lanes.get(id);
      if (lane && !lane.dropped && !lane.releasing) {
        lane.pins++;
        pinned.add(id);
      }
    }
    return pinned;
  }

  /**
   * New deliveries from this replica's intake. `items` are queued in
   * MongoDB already: added to lanes held here, or their lanes are claimed.
   *
   * `fast` (fast path, lanes in `pinned` only) have no queue entry: each
   * one the fast-path admission accepts is attempted at once (ordering and
   * the floor apply as usual) and becomes durable when its finished record
   * is written or a failed attempt queued it; intake acknowledges its
   * JetStream message only then, or gives the stragglers queue entries
   * ({@link queueFast}) after its window. One the admission refuses is added
   * to its lane just the same but gets its queue entry at once (durable when
   * written). Everything is added before any lane is pumped, so stream order
   * holds across all kinds. Unpins `pinned`.
   *
   * @returns fast id → promise resolved when durable (a fast item whose lane
   *   is no longer held, or still loading, is not in it: the caller queues it)
   */
  offer(
    items: QueueDoc[],
    pinned: Set<string> = new Set(),
    fast: QueueDoc[] = [],
  ): Map<string, Promise<void>> {
    for (const id of pinned) {
      const lane = this.#lanes.get(id);
      if (lane) lane.pins = Math.max(0, lane.pins - 1);
    }
    const tracked = new Map<string, Promise<void>>();
    if (this.#stopping) return tracked;
    const touched = new Set<LaneState>();
    const admit = this.#fastAdmission();
    const queueNow: string[] = [];
    for (const item of fast) {
      const lane = this.#lanes.get(item.lane);
      if (!lane || lane.dropped || lane.releasing || lane.loading) continue;
      const admitted = admit(lane, item);
      const paged = this.#beyondPage(lane, item);
      // Not added: the lane knows it already (queued, or finished moments ago).
      if (!paged && !lane.add(item)) continue;
      let resolve!: () => void;
      const durable = new Promise<void>((r) => (resolve = r));
      this.#fast.set(item._id, { item, finishing: false, spilled: false, resolve });
      tracked.set(item._id, durable);
      // beyond the lane's page: queued only, loaded with a later page (and
      // the lane has nothing new to pump)
      if (!paged) touched.add(lane);
      if (!admitted || paged) queueNow.push(item._id);
    }
    // Refused ones are in the lane already (stream order holds) and get their
    // queue entries at once; intake acknowledges them when written, without
    // waiting for the write before its next batch.
    if (queueNow.length > 0) void this.queueFast(queueNow);
    const byLane = new Map<string, QueueDoc[]>();
    for (const it of items) {
      const list = byLane.get(it.lane);
      if (list) list.push(it);
      else byLane.set(it.lane, [it]);
    }
    for (const [laneId, docs] of byLane) {
      const lane = this.#lanes.get(laneId);
      if (lane && !lane.dropped) {
        for (const doc of docs)
          if (!this.#beyondPage(lane, doc) && lane.add({ ...doc })) touched.add(lane);
      } else {
        void this.#claim(laneId);
      }
    }
    for (const lane of touched) this.#pump(lane);
    return tracked;
  }

  /**
   * Whether `item` lies beyond the lane's page in memory (it then stays in
   * the queue only). A lane holding {@link EngineSettings.laneMemory}
   * deliveries, or whose endpoint is stuck ({@link #stuck}), is paged at
   * the highest sequence it holds; a delivery at or below the page end is
   * always taken in (a replay), so that every unfinished delivery up to it
   * is in memory. A dead endpoint's deliveries thus go to the queue only:
   * held in memory, each kept its event's body alive and was copied by
   * every young-generation GC until promoted, which lengthened those
   * pauses for the healthy endpoints' deliveries.
   */
  #beyondPage(lane: LaneState, item: QueueDoc): boolean {
    if (
      lane.pageEnd === Infinity &&
      (lane.count >= this.s.laneMemory || this.#stuck(lane.endpointId, Date.now()))
    ) {
      lane.pageEnd = lane.maxSeq;
      lane.finishedSincePage = 0;
    }
    if (item.streamSeq <= lane.pageEnd) return false;
    lane.beyond++;
    return true;
  }

  /**
   * Asks for the next page of a paged lane once the page in memory is
   * half done, or once it no longer holds a deliverable head while others
   * wait beyond it and something finished (a dead endpoint's page, whose
   * heads wait for retries, is not read again and again), but not while
   * its endpoint is stuck. At most one page load per 200 ms.
   */
  #pageForward(lane: LaneState, blocked: boolean, headsInPage: boolean): void {
    if (lane.pageEnd === Infinity || lane.pageAsked || lane.reloading) return;
    const want =
      lane.count < this.s.laneMemory / 2 ||
      (blocked && (!headsInPage || lane.finishedSincePage > 0));
    if (!want) return;
    const now = Date.now();
    if (this.#stuck(lane.endpointId, now)) {
      // nothing more could be delivered yet; look again once it may be
      this.#setTimer(lane, now + STUCK_RECHECK_MS);
      return;
    }
    lane.pageAsked = true;
    setTimeout(() => {
      lane.pageAsked = false;
      lane.pageForward = true;
      if (!lane.dropped) this.#refresh(lane);
    }, 200).unref();
  }

  /**
   * Whether an endpoint's requests are stalled: some in flight and none
   * started from idle or finished for {@link #stallMs} (a dead endpoint
   * whose requests hang until the timeout).
   */
  #stalled(endpointId: string, now: number): boolean {
    const flow = this.#flow.get(endpointId);
    return flow !== undefined && flow.inFlight > 0 && now - flow.lastProgress > this.#stallMs;
  }

  /** Whether an endpoint takes no deliveries at all now: unknown here, disabled, or its circuit not closed. */
  #unavailable(endpointId: string): boolean {
    const ep = this.d.endpoints.cached(endpointId);
    return !ep || !ep.enabled || this.#circuit(endpointId).state() !== 'closed';
  }

  /**
   * Whether an endpoint can take no delivery now nor soon: {@link #unavailable},
   * or stalled with every one of its request slots taken. (Stalled with
   * slots free, other sessions' deliveries still go out at once.)
   */
  #stuck(endpointId: string, now: number): boolean {
    if (this.#unavailable(endpointId)) return true;
    return (
      this.#stalled(endpointId, now) &&
      (this.#flow.get(endpointId)?.inFlight ?? 0) >= this.s.endpointConcurrency
    );
  }

  /**
   * The fast path's admission check for one {@link offer} call, for lanes
   * held and loaded here: a delivery goes fast only when it can be
   * attempted (almost) at once — its lane's lease is not about to run out,
   * its endpoint is neither {@link #unavailable} nor {@link #stalled}, and its
   * session has at most {@link FAST_BACKLOG} deliveries ahead of it in the
   * lane, none of them waiting for a retry. Anything
   * else gets its queue entry at once and its message is acknowledged when
   * that is written, so a slow or dead endpoint never holds JetStream
   * messages (and with them the consumer's MaxAckPending window shared by
   * all endpoints) for the fast-path window. Once one delivery of a lane
   * is refused, the lane's later ones in the call are refused too (they must
   * not overtake it).
   *
   * @returns a predicate to call once per candidate, in stream order
   */
  #fastAdmission(): (lane: LaneState, item: QueueDoc) => boolean {
    const refused = new Set<string>();
    const backlog = new Map<string, number>();
    const now = Date.now();
    return (lane, item) => {
      if (refused.has(lane.id)) return false;
      const key = `${lane.id} ${item.sessionId}`;
      const q = lane.sessions.get(item.sessionId);
      const ahead = backlog.get(key) ?? q?.items.length ?? 0;
      const ok =
        lane.pageEnd === Infinity &&
        !this.#unavailable(lane.endpointId) &&
        !this.#stalled(lane.endpointId, now) &&
        lane.leaseUntil - now >= Math.min(1000, this.s.leaseMs / 4) &&
        ahead <= FAST_BACKLOG &&
        // a head waiting for its retry holds the session back for longer than the window
        !(q?.items[0] && q.items[0].dueAt.getTime() > now);
      if (!ok) {
        refused.add(lane.id);
        return false;
      }
      backlog.set(key, ahead + 1);
      return true;
    };
  }

  /**
   * Gives the fast-path deliveries among `ids` that are neither finished nor
   * queued yet their queue entries (finished ones are left to the recorder),
   * wakes their lanes when held elsewhere, and resolves once written: they
   * are durable then. Calls made while a write is under way are written
   * together by the next one (one insert for many intake batches when an
   * endpoint is dead). Retries MongoDB errors; gives up only while stopping.
   *
   * @returns false when it gave up
   */
  queueFast(ids: Iterable<string>): Promise<boolean> {
    const items: QueueDoc[] = [];
    for (const id of ids) {
      const fe = this.#fast.get(id);
      if (!fe || fe.finishing || fe.spilled) continue;
      fe.spilled = true;
      items.push({ ...fe.item });
    }
    if (items.length === 0) return Promise.resolve(true);
    const written = new Promise<boolean>((done) => {
      this.#spills.push({ items, done });
      this.#spilled += items.length;
      if (this.#spilled >= SPILL_BATCH) this.#spillFull?.();
      void this.#writeSpills();
    });
    this.#spillTail = written;
    return written;
  }

  /** Writes waiting {@link queueFast} entries, one write at a time, each taking all that wait. */
  async #writeSpills(): Promise<void> {
    if (this.#spillWriting) return;
    this.#spillWriting = true;
    try {
      while (this.#spills.length > 0) {
        // gather what arrives meanwhile: fewer, larger inserts when an endpoint is dead
        const now = Date.now();
        const full = this.#spilled >= SPILL_BATCH;
        const due = this.#lastSpill + (full ? SPILL_MIN_INTERVAL_MS : SPILL_MAX_INTERVAL_MS);
        if (due > now && !this.#stopping) {
          await new Promise<void>((woken) => {
            const timer = setTimeout(woken, due - now);
            this.#spillFull = () => {
              clearTimeout(timer);
              woken();
            };
          });
          this.#spillFull = undefined;
          continue;
        }
        this.#lastSpill = now;
        const calls = this.#spills.splice(0);
        this.#spilled = 0;
        const ok = await this.#spill(calls.flatMap((c) => c.items));
        for (const c of calls) c.done(ok);
      }
    } finally {
      this.#spillWriting = false;
    }
  }

  async #spill(all: QueueDoc[]): Promise<boolean> {
    let items = all;
    for (let tries = 1; ; tries++) {
      try {
        items = await this.#withoutDeleted(items);
        if (items.length === 0) return true;
        const held = new Set(this.#lanes.keys());
        await enqueue(this.d.c, items, held);
        for (const i of items) this.#durable(i._id);
        this.d.metrics.spilled.inc(items.length);
        this.wake([...new Set(items.map((i) => i.lane))].filter((l) => !held.has(l)));
        return true;
      } catch (err) {
        this.d.logger.warn(
          { deliveries: items.length, err: (err as Error).message },
          'queueing fast-path deliveries failed; retrying',
        );
        if (this.#stopping && tries >= 3) return false;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * A lane this replica no longer holds: its fast-path deliveries that are
   * neither finished nor queued get queue entries now, so whoever holds the
   * lane next (this replica included: a claim here waits for it) loads them
   * from MongoDB in stream order.
   */
  #orphan(lane: LaneState): void {
    const ids: string[] = [];
    for (const fe of this.#fast.values()) if (fe.item.lane === lane.id) ids.push(fe.item._id);
    if (ids.length === 0) return;
    const done = (this.#spilling.get(lane.id) ?? Promise.resolve()).then(async () => {
      await this.queueFast(ids);
    });
    this.#spilling.set(lane.id, done);
    void done.finally(() => {
      if (this.#spilling.get(lane.id) === done) this.#spilling.delete(lane.id);
    });
  }

  #durable(id: string): void {
    const fe = this.#fast.get(id);
    if (!fe) return;
    this.#fast.delete(id);
    fe.resolve();
    // V8 leaves a copy of a Map's table behind in the old generation each
    // time an old Map grows, shrinks or compacts, and that copy keeps the
    // entries it held reachable for the scavenger until the next major GC.
    // An entry that still pointed at its item (body, trace context,
    // intake's promise and batch) had all of that promoted with it.
    fe.item = RELEASED_ITEM;
    fe.resolve = noop;
  }

  /**
   * Writes a failed attempt's state to the delivery's queue entry, creating
   * the entry when it is a fast-path delivery that has none yet.
   */
  async #persist(item: QueueDoc, set: Partial<QueueDoc>): Promise<void> {
    if ((await this.#withoutDeleted([item])).length === 0) return;
    const rest: Record<string, unknown> = { ...item };
    for (const k of ['_id', ...Object.keys(set)]) delete rest[k];
    await this.d.c.queue.updateOne(
      { _id: item._id },
      { $set: set, $setOnInsert: rest as Partial<QueueDoc> },
      { upsert: true },
    );
    const fe = this.#fast.get(item._id);
    if (fe) {
      fe.spilled = true;
      this.#durable(item._id);
    }
  }

  /**
   * `items` less those of endpoints deleted meanwhile, which are durable as
   * they are: deleting an endpoint removes its queue entries, and an attempt
   * under way or a spill must not write them back. An endpoint missing from
   * the cache is looked up in MongoDB (it may be new on another replica).
   *
   * @throws on MongoDB errors (the caller retries)
   */
  async #withoutDeleted(items: QueueDoc[]): Promise<QueueDoc[]> {
    const unknown = new Set<string>();
    for (const i of items) if (!this.d.endpoints.cached(i.endpointId)) unknown.add(i.endpointId);
    if (unknown.size === 0) return items;
    const found = await this.d.c.endpoints
      .find({ _id: { $in: [...unknown] } }, { projection: { _id: 1 } })
      .toArray();
    for (const f of found) unknown.delete(f._id);
    if (unknown.size === 0) return items;
    for (const i of items) if (unknown.has(i.endpointId)) this.#durable(i._id);
    return items.filter((i) => !unknown.has(i.endpointId));
  }

  /** Lanes changed elsewhere (another replica's intake, a replay, re-enabling): reload or claim. */
  wake(laneIds: string[]): void {
    if (this.#stopping) return;
    for (const id of laneIds) {
      const lane = this.#lanes.get(id);
      if (lane) {
        // The notice comes before the acks of what it announces, so nothing
        // past today's floor goes out until the reload has those deliveries.
        lane.holdAbove = Math.min(lane.holdAbove, this.#floor);
        this.#refresh(lane);
      } else void this.#claim(id);
    }
  }

  async #poll(): Promise<void> {
    const now = new Date();
    const due = await this.d.c.lanes
      .find({ dueAt: { $lte: now }, leaseUntil: { $lt: now } }, { projection: { _id: 1 } })
      .limit(200)
      .toArray();
    for (const { _id } of due.sort(() => Math.random() - 0.5)) {
      if (this.#stopping) return;
      if (!this.#lanes.has(_id)) await this.#claim(_id);
    }
    if (this.#floorWaiters.size > 0) {
      const floor = await this.d.readFloor();
      if (floor > this.#floor) this.setFloor(floor);
      else for (const lane of this.#lanes.values()) this.#pump(lane);
    }
    // Safety net: a held lane with due work and nothing in flight gets a pump.
    for (const lane of this.#lanes.values()) {
      if (lane.inFlight === 0 && !lane.timer && lane.count > 0) this.#pump(lane);
    }
  }

  async #claim(laneId: string): Promise<void> {
    if (this.#stopping || this.#lanes.has(laneId) || this.#claiming.has(laneId)) return;
    this.#claiming.add(laneId);
    try {
      // What this replica held of the lane before must be in the queue first.
      await this.#spilling.get(laneId);
      const now = Date.now();
      const doc = await this.#locks.run([laneId], () => this.#take(laneId, now));
      if (!doc) return;
      const lane = new LaneState(laneId, doc.endpointId);
      lane.leaseUntil = now + this.s.leaseMs;
      lane.v = doc.v;
      this.#lanes.set(laneId, lane);
      await this.#reload(lane);
      lane.loading = false;
      this.d.logger.debug({ lane: laneId, v: lane.v, queued: lane.size() }, 'lane claimed');
      this.#pump(lane);
    } catch (err) {
      // while stopping, the connection closes under claims still running
      if (!this.#stopping)
        this.d.logger.warn({ lane: laneId, err: (err as Error).message }, 'lane claim failed');
      const lane = this.#lanes.get(laneId);
      if (lane?.loading) {
        lane.dropped = true;
        this.#lanes.delete(laneId);
        this.#orphan(lane);
        await this.#locks
          .run([laneId], () =>
            this.d.c.lanes.updateOne(
              { _id: laneId, owner: this.owner },
              { $set: { owner: null, leaseUntil: EPOCH } },
            ),
          )
          .catch(() => undefined);
      }
    } finally {
      this.#claiming.delete(laneId);
    }
  }

  /**
   * Takes the lane if its lease has expired: claim document first, then the
   * lease on the lane document. Runs under the lane's lock.
   *
   * @returns the lane document as taken, or undefined when another replica
   *   holds or took it
   * @throws on MongoDB errors
   */
  async #take(laneId: string, now: number): Promise<LaneDoc | undefined> {
    const cur = await this.d.c.lanes.findOne({ _id: laneId });
    if (!cur || cur.leaseUntil.getTime() >= now) return undefined;
    const gen = (cur.gen ?? 0) + 1;
    if (!(await this.#takeClaim(laneId, gen, now))) return undefined;
    // still expired: its holder did not renew it meanwhile
    const took = await this.d.c.lanes.updateOne(
      { _id: laneId, leaseUntil: { $lt: new Date(now) } },
      { $set: { owner: this.owner, leaseUntil: new Date(now + this.s.leaseMs), gen } },
    );
    if (took.matchedCount === 0) {
      await this.d.c.laneClaims.deleteOne({ _id: `${laneId}#${gen}`, owner: this.owner });
      return undefined;
    }
    void this.d.c.laneClaims.deleteOne({ _id: `${laneId}#${gen - 1}` }).catch(() => undefined);
    return { ...cur, gen };
  }

  /**
   * Takes claim `gen` of a lane by inserting its claim document: the one
   * replica whose insert succeeds holds the lane, on MongoDB and on servers
   * whose conditional updates are not atomic alike. A claim document left
   * by a replica that died between taking it and writing the lane (older
   * than two leases) is replaced.
   *
   * @returns true when this replica took the claim
   * @throws on MongoDB errors other than a duplicate key
   */
  async #takeClaim(laneId: string, gen: number, now: number): Promise<boolean> {
    const claim = { _id: `${laneId}#${gen}`, owner: this.owner, at: new Date(now) };
    try {
      await this.d.c.laneClaims.insertOne(claim);
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const held = await this.d.c.laneClaims.findOne({ _id: claim._id });
    // Ours already: this replica took `gen` before and then lost the lane
    // (or its lease write) without another replica claiming after it.
    if (held?.owner === this.owner) return true;
    if (!held || now - held.at.getTime() < 2 * this.s.leaseMs) return false;
    await this.d.c.laneClaims.deleteOne({ _id: claim._id, at: held.at });
    try {
      await this.d.c.laneClaims.insertOne(claim);
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return false;
    }
  }

  /**
   * Reloads `lane` in the background, then pumps it; calls while a reload
   * runs coalesce into one more reload after it (lease renewal never waits
   * for a load).
   */
  #refresh(lane: LaneState): void {
    if (this.#stopping) return;
    if (lane.reloading) {
      lane.reloadAgain = true;
      return;
    }
    lane.reloading = true;
    void (async () => {
      try {
        do {
          lane.reloadAgain = false;
          await this.#reload(lane);
        } while (lane.reloadAgain && !lane.dropped);
        lane.holdAbove = Infinity;
      } catch (err) {
        if (this.#stopping) return;
        this.d.logger.warn({ lane: lane.id, err: (err as Error).message }, 'lane reload failed');
        // held deliveries wait for a reload that succeeds
        if (lane.holdAbove !== Infinity && !lane.dropped)
          setTimeout(() => this.#refresh(lane), 500).unref();
      } finally {
        lane.reloading = false;
        this.#pump(lane);
      }
    })();
  }

  async #reload(lane: LaneState): Promise<void> {
    const laneDoc = await this.d.c.lanes.findOne({ _id: lane.id });
    if (!laneDoc) return;
    // A paged lane reloads its page (what others queued up to its end) and
    // moves on only when it asked to; reading the next page at every
    // change notice loaded a dead endpoint's whole backlog at once.
    const upTo = lane.pageForward ? Infinity : lane.pageEnd;
    lane.pageForward = false;
    // What was left beyond the page so far is in the queue once the spill
    // writes under way are done; anything left beyond it from now on may
    // not be in what the page load reads.
    const beyond = lane.beyond;
    await this.#spillTail;
    lane.turnDone();
    // Deliveries of this replica that are in flight or finished but not yet
    // recorded, before the markers are read (one finishing and recorded
    // during the load is skipped either way).
    const busy = new Set([...this.d.recorder.pendingIds, ...this.#attempting]);
    const page = await loadLanePage(
      this.d.c,
      lane.id,
      this.s.laneMemory,
      (id) => lane.known.has(id) || busy.has(id),
      upTo,
    );
    for (const doc of page.docs) {
      if (this.d.recorder.pendingIds.has(doc._id) || this.#attempting.has(doc._id)) continue;
      lane.add(doc);
    }
    if (upTo !== Infinity) {
      if (!page.complete) lane.pageEnd = Math.min(lane.pageEnd, page.lastSeq);
    } else if (lane.beyond !== beyond) {
      lane.pageEnd = Math.max(lane.pageEnd, page.lastSeq); // the next page load brings the rest
    } else lane.pageEnd = page.complete ? Infinity : page.lastSeq;
    lane.finishedSincePage = 0;
    // only now: a failed load leaves the change for the next renewal to notice
    lane.v = laneDoc.v;
  }

  /** Renews every held lease in one update, then checks ownership and change counters in one read. */
  async #renew(): Promise<void> {
    const held = [...this.#lanes.values()].filter((l) => !l.dropped && !l.releasing && !l.loading);
    if (held.length === 0) return;
    const now = Date.now();
    const ids = held.map((l) => l.id);
    await this.#locks.run(ids, () =>
      this.d.c.lanes.updateMany(
        { _id: { $in: ids }, owner: this.owner },
        { $set: { leaseUntil: new Date(now + this.s.leaseMs) } },
      ),
    );
    const docs = await this.d.c.lanes
      .find({ _id: { $in: ids } }, { projection: { owner: 1, v: 1 } })
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d]));
    for (const lane of held) {
      if (lane.dropped || lane.releasing || this.#lanes.get(lane.id) !== lane) continue;
      const doc = byId.get(lane.id);
      if (!doc || doc.owner !== this.owner) {
        // no document: the endpoint was deleted; another owner: our lease expired
        if (doc) this.d.logger.warn({ lane: lane.id }, 'lane lease lost');
        else this.d.logger.debug({ lane: lane.id }, 'lane deleted (endpoint deleted)');
        lane.dropped = true;
        if (lane.timer) clearTimeout(lane.timer);
        this.#lanes.delete(lane.id);
        this.#orphan(lane);
        continue;
      }
      lane.leaseUntil = now + this.s.leaseMs;
      if (doc.v !== lane.v) this.#refresh(lane);
      else this.#pump(lane);
    }
  }

  async #stats(): Promise<void> {
    const m = this.d.metrics;
    m.lanesHeld.set(this.#lanes.size);
    for (const [id, cb] of this.#circuits)
      m.circuit.set({ endpoint: id }, CIRCUIT_STATE_VALUE[cb.state()]);
    // Collection metadata counts, not scans: counting documents of a large
    // queue every 15 s held up every other write for hundreds of ms.
    const depth =
      (await this.d.c.queue.estimatedDocumentCount()) -
      (await this.d.c.done.estimatedDocumentCount());
    m.queueDepth.set(Math.max(0, depth));
    m.oldestDueAge.set(this.#oldestDueAgeS(Date.now()));
  }

  /**
   * Age (s) of the oldest due delivery not being attempted in the lanes
   * this replica holds (Prometheus takes the max over replicas; a due lane
   * nobody holds is claimed within the poll interval).
   */
  #oldestDueAgeS(now: number): number {
    let oldest = now;
    for (const lane of this.#lanes.values())
      for (const q of lane.sessions.values()) {
        const head = q.busy ? q.items[1] : q.items[0];
        if (head && head.dueAt.getTime() < oldest) oldest = head.dueAt.getTime();
      }
    return (now - oldest) / 1000;
  }

  #circuit(endpointId: string): CircuitBreaker {
    let cb = this.#circuits.get(endpointId);
    if (!cb) {
      cb = new CircuitBreaker({ cooldownMs: this.s.circuitCooldownMs });
      this.#circuits.set(endpointId, cb);
    }
    return cb;
  }

  #slotFree(endpointId: string): boolean {
    return (
      this.#inFlight < this.s.globalConcurrency &&
      (this.#flow.get(endpointId)?.inFlight ?? 0) < this.s.endpointConcurrency
    );
  }

  #setTimer(lane: LaneState, at: number): void {
    if (lane.timer && lane.timerAt <= at) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timerAt = at;
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        lane.timerAt = 0;
        this.#pump(lane);
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Starts every attempt that may start now in `lane`. */
  #pump(lane: LaneState): void {
    if (lane.dropped || this.#stopping || lane.releasing || lane.loading) return;
    const ep = this.d.endpoints.cached(lane.endpointId);
    const now = Date.now();
    if (!ep) {
      // Unknown here (created on another replica moments ago, or deleted): look again soon.
      void this.d.endpoints.reload().catch(() => {});
      this.#setTimer(lane, now + 1000);
      return;
    }
    if (!ep.enabled) {
      if (lane.inFlight === 0) void this.#release(lane, FAR_FUTURE);
      return;
    }
    if (lane.leaseUntil - now < Math.min(1000, this.s.leaseMs / 4)) {
      this.#setTimer(lane, now + 100);
      return;
    }
    if (this.d.recorder.pendingIds.size >= MAX_UNRECORDED) {
      this.#heldBack = true;
      void this.d.recorder.flush();
      this.#setTimer(lane, now + 100);
      return;
    }
    const circuit = this.#circuit(ep.id);
    let wakeAt = Infinity;
    let minDue = Infinity;
    let beyondPage = false;
    let headsInPage = false;
    for (const [sessionId, q] of lane.sessions) {
      const head = q.items[0];
      if (head && head.streamSeq <= lane.pageEnd) headsInPage = true;
      if (q.busy) continue;
      if (!head) {
        if (now - q.emptySince >= SESSION_KEEP_MS) lane.sessions.delete(sessionId);
        continue;
      }
      if (head.streamSeq > lane.pageEnd) {
        beyondPage = true;
        continue;
      }
      const due = head.dueAt.getTime();
      minDue = Math.min(minDue, due);
      if (head.streamSeq > this.#floor || head.streamSeq > lane.holdAbove) {
        this.#floorWaiters.add(lane);
        continue;
      }
      if (due > now) {
        wakeAt = Math.min(wakeAt, due);
        continue;
      }
      if (!this.#slotFree(ep.id)) {
        let waiters = this.#slotWaiters.get(ep.id);
        if (!waiters) this.#slotWaiters.set(ep.id, (waiters = new Set()));
        waiters.add(lane);
        break;
      }
      if (this.d.recorder.pendingIds.size >= MAX_UNRECORDED) {
        this.#heldBack = true;
        void this.d.recorder.flush();
        break;
      }
      if (!circuit.allow(now)) {
        wakeAt = Math.min(wakeAt, circuit.openUntil || now + 250);
        break;
      }
      void this.#attempt(lane, q, head, ep);
    }
    this.#pageForward(lane, beyondPage, headsInPage);
    if (wakeAt < Infinity) this.#setTimer(lane, wakeAt);
    if (lane.inFlight === 0) {
      // (a paged lane is never idle: the rest of it waits in the queue)
      if (lane.count === 0 && lane.pageEnd === Infinity) {
        // Keep an empty lane for a while (no claim round trips for the next event).
        lane.idleSince ||= now;
        if (now - lane.idleSince >= this.s.leaseMs) void this.#release(lane, FAR_FUTURE);
        else this.#setTimer(lane, lane.idleSince + this.s.leaseMs);
      } else if (
        minDue > now + 2 * this.s.leaseMs &&
        !this.#floorWaiters.has(lane) &&
        lane.pageEnd === Infinity
      )
        void this.#release(lane, new Date(minDue));
    }
  }

  async #release(lane: LaneState, dueAt: Date): Promise<void> {
    if (lane.releasing || lane.dropped || lane.pins > 0) return;
    lane.releasing = true;
    try {
      await this.d.recorder.flush();
      const r = await this.#locks.run([lane.id], () =>
        this.d.c.lanes.updateOne(
          { _id: lane.id, owner: this.owner, v: lane.v },
          { $set: { owner: null, leaseUntil: EPOCH, dueAt } },
        ),
      );
      this.d.logger.debug(
        {
          lane: lane.id,
          released: r.matchedCount === 1,
          v: lane.v,
          queued: lane.size(),
          pins: lane.pins,
        },
        'lane release',
      );
      if (r.matchedCount === 1) {
        lane.dropped = true;
        if (lane.timer) clearTimeout(lane.timer);
        this.#lanes.delete(lane.id);
        this.#orphan(lane);
        if (lane.size() > 0 && dueAt === FAR_FUTURE) void this.#claim(lane.id);
        else if (await this.#missedAtRelease(lane)) void this.#claim(lane.id);
        return;
      }
      lane.releasing = false;
      await this.#reload(lane);
    } catch (err) {
      this.d.logger.warn({ lane: lane.id, err: (err as Error).message }, 'lane release failed');
    } finally {
      if (!lane.dropped) {
        lane.releasing = false;
        this.#pump(lane);
      }
    }
  }

  /**
   * After a lane was released: were deliveries queued into it that this
   * replica never saw? Then the lane is marked due again, for whichever
   * replica claims it next. On FerretDB the release's write can undo
   * another replica's concurrent enqueue bump of the lane (change counter
   * and due date) and the lane would otherwise sit idle with work in it;
   * its queue entries, inserted before that bump, are found here.
   *
   * @returns true when such deliveries exist
   * @throws on MongoDB errors
   */
  async #missedAtRelease(lane: LaneState): Promise<boolean> {
    const unseen = await this.d.c.queue
      .find(
        { lane: lane.id, streamSeq: { $gt: lane.maxSeq } },
        { projection: { _id: 1, attempts: 1 } },
      )
      .limit(100)
      .toArray();
    // finished ones (by a replica that held the lane before) are not missed
    if ((await unfinishedEntries(this.d.c, lane.id, unseen)).length === 0) return false;
    await this.#locks.run([lane.id], () =>
      this.d.c.lanes.updateOne(
        { _id: lane.id, leaseUntil: { $lt: new Date() } },
        { $min: { dueAt: new Date() } },
      ),
    );
    return true;
  }

  #headers(
    ep: LiveEndpoint,
    item: QueueDoc,
    at: Date,
    traceparent: string | null,
  ): Record<string, string> {
    const h: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.s.userAgent,
      ...signatureHeaders(item.eventId, at, item.body, ep.secrets),
    };
    if (ep.bearer) h.authorization = `Bearer ${ep.bearer}`;
    if (traceparent) h.traceparent = traceparent;
    return h;
  }

  async #attempt(
    lane: LaneState,
    q: SessionQueue,
    item: QueueDoc,
    ep: LiveEndpoint,
  ): Promise<void> {
    q.busy = true;
    this.#attempting.add(item._id);
    lane.inFlight++;
    this.#inFlight++;
    let flow = this.#flow.get(ep.id);
    if (!flow) this.#flow.set(ep.id, (flow = { inFlight: 0, lastProgress: 0 }));
    if (flow.inFlight++ === 0) flow.lastProgress = Date.now();
    this.d.metrics.inFlight.inc();
    const at = new Date();
    const attempt = item.attempts + 1;
    const trigger =
      item.trigger === 'replay' && item.attempts === item.attemptBase
        ? 'replay'
        : attempt > 1
          ? 'retry'
          : 'event';
    let result: AttemptResult;
    const url = ep.url.replace('{agent_id}', encodeURIComponent(item.agentId));
    let span: ReturnType<typeof startAttemptSpan>['span'] | undefined;
    try {
      const started = startAttemptSpan(item.traceparent, new URL(url), ep.id);
      span = started.span;
      result = await this.d.http.post({
        url,
        headers: this.#headers(ep, item, at, started.traceparent),
        body: item.body,
        timeoutMs: this.s.timeoutMs,
      });
    } catch (err) {
      result = { error: (err as Error).message, latencyMs: Date.now() - at.getTime() };
    }
    if (span) endAttemptSpan(span, result.statusCode, describe(result));
    try {
      await this.#settle(lane, q, item, ep, attempt, at, trigger, result);
    } catch (err) {
      this.d.logger.error(
        { eventId: item.eventId, endpointId: ep.id, err: (err as Error).message },
        'recording attempt failed',
      );
    } finally {
      q.busy = false;
      this.#attempting.delete(item._id);
      lane.inFlight--;
      this.#inFlight--;
      flow.inFlight--;
      flow.lastProgress = Date.now();
      this.d.metrics.inFlight.dec();
      if (this.#inFlight === 0 && this.#idle.length > 0) for (const r of this.#idle.splice(0)) r();
      this.#pump(lane);
      // A freed slot may unblock lanes that found none: of this endpoint, or
      // any lane when the global cap was reached.
      const waiters = this.#slotWaiters.get(ep.id);
      const others =
        this.#inFlight === this.s.globalConcurrency - 1
          ? [...this.#lanes.values()]
          : waiters
            ? [...waiters]
            : [];
      waiters?.clear();
      for (const other of others) if (other !== lane) this.#pump(other);
    }
  }

  async #settle(
    lane: LaneState,
    q: SessionQueue,
    item: QueueDoc,
    ep: LiveEndpoint,
    attempt: number,
    at: Date,
    trigger: string,
    r: AttemptResult,
  ): Promise<void> {
    const verdict = classify(r);
    const ok = verdict === 'delivered';
    const error = describe(r) ?? null;
    // created only when something is logged (a pino child costs a redaction pass)
    let child: Logger | undefined;
    const log = (): Logger =>
      (child ??= this.d.logger.child({
        eventId: item.eventId,
        endpointId: ep.id,
        trace_id: traceIdOf(item.traceparent),
      }));
    this.#circuit(ep.id).record(ok);
    this.d.metrics.attempts.inc({ result: ok ? 'success' : 'failure', endpoint: ep.id });
    this.d.metrics.attemptSeconds.observe(
      { result: ok ? 'success' : 'failure' },
      r.latencyMs / 1000,
    );

    let outcome: string = verdict;
    let delay: number | undefined;
    if (verdict === 'retry') {
      const retryAfter = isSlowDown(r) ? parseRetryAfter(retryAfterHeader(r)) : undefined;
      const slow =
        isSlowDown(r) && retryAfter === undefined
          ? (this.s.retryScheduleMs[1] ?? 5000)
          : retryAfter;
      delay = nextDelayMs(this.s.retryScheduleMs, attempt - item.attemptBase, this.s.jitter, slow);
      outcome = delay === undefined ? 'failed' : 'retry';
    }
    const attemptDoc: AttemptDoc = {
      _id: `${item._id}#${attempt}#${at.getTime().toString(36)}`,
      deliveryId: item._id,
      endpointId: ep.id,
      tenantId: item.tenantId,
      eventId: item.eventId,
      eventType: item.eventType,
      attempt,
      at,
      statusCode: r.statusCode ?? null,
      latencyMs: r.latencyMs,
      error,
      responseBody: r.responseBody ?? null,
      outcome,
      trigger,
    };
    this.d.recorder.attempt(attemptDoc);
    item.attempts = attempt;
    item.lastStatusCode = r.statusCode ?? null;
    item.lastError = error;

    if (ok) {
      this.#finish(lane, q, item, 'delivered');
      if (ep.failingSince) void this.d.endpoints.setFailingSince(ep.id, null).catch(() => {});
      if (this.d.logger.isLevelEnabled('debug'))
        log().debug(
          { attempt, statusCode: r.statusCode, latencyMs: r.latencyMs },
          'webhook delivered',
        );
      return;
    }
    if (verdict === 'abort') {
      log().info(
        { attempt, statusCode: r.statusCode },
        'receiver aborted the message; no more retries',
      );
      this.#finish(lane, q, item, 'aborted');
      return;
    }
    if (verdict === 'gone') {
      await this.#persist(item, { attempts: attempt, lastStatusCode: 410, lastError: error });
      await this.#disable(ep, 'gone', item);
      return;
    }
    const now = Date.now();
    if (!ep.failingSince)
      void this.d.endpoints.setFailingSince(ep.id, new Date(now)).catch(() => {});
    else if (now - ep.failingSince.getTime() > this.s.disableAfterMs) {
      await this.#persist(item, {
        attempts: attempt,
        lastStatusCode: item.lastStatusCode,
        lastError: error,
      });
      await this.#disable(ep, 'failing', item);
      return;
    }
    if (delay === undefined) {
      log().warn(
        { attempt, statusCode: r.statusCode, error },
        'webhook dead-lettered after the last attempt',
      );
      this.#finish(lane, q, item, 'failed');
      this.d.metrics.deadLetters.inc({ endpoint: ep.id });
      const { body, ...meta } = item;
      await this.d.publisher
        .deadLetter({
          tenantId: item.tenantId,
          endpointId: ep.id,
          deliveryId: item._id,
          attempts: attempt,
          record: {
            ...meta,
            body: JSON.parse(body) as unknown,
            status: 'failed',
            failedAt: new Date(now).toISOString(),
          },
        })
        .catch((err: unknown) =>
          log().warn({ err: (err as Error).message }, 'dead letter not published'),
        );
      await this.d.publisher.event(
        Event.fromPartial({
          eventId: `exh-${item._id}-${now.toString(36)}`
            .slice(0, 128)
            .replace(/[^A-Za-z0-9_:.-]/g, '_'),
          type: EventType.MessageAttemptExhausted,
          tenantId: item.tenantId,
          agentId: item.agentId,
          sessionId: item.sessionId,
          occurredAt: new Date(now),
          payload: {
            $case: 'exhausted',
            value: {
              endpointId: ep.id,
              deliveryId: item._id,
              eventId: item.eventId,
              eventType: item.eventType,
              attempts: attempt,
              lastStatusCode: r.statusCode,
              lastError: error ?? undefined,
            },
          },
        }),
        item.traceparent,
      );
      return;
    }
    item.dueAt = new Date(now + delay);
    if (this.d.logger.isLevelEnabled('debug'))
      log().debug(
        { attempt, statusCode: r.statusCode, error, retryInMs: delay },
        'webhook attempt failed; retry scheduled',
      );
    await this.#persist(item, {
      attempts: attempt,
      dueAt: item.dueAt,
      lastStatusCode: item.lastStatusCode,
      lastError: error,
    });
  }

  #finish(lane: LaneState, q: SessionQueue, item: QueueDoc, status: FinalStatus): void {
    // Every field listed rather than `{ ...rest, status, completedAt }`: in
    // V8 11 (Node 20) a property added after a spread gives each object a
    // hidden class of its own, allocated in the old generation with its
    // descriptors. Three per delivery were about 5 MB/s there, a third of
    // what brought on the major GCs, and made property access megamorphic.
    const record: DeliveryDoc = {
      _id: item._id,
      endpointId: item.endpointId,
      tenantId: item.tenantId,
      agentId: item.agentId,
      sessionId: item.sessionId,
      eventId: item.eventId,
      eventType: item.eventType,
      streamSeq: item.streamSeq,
      body: item.body,
      traceparent: item.traceparent,
      attempts: item.attempts,
      createdAt: item.createdAt,
      lastStatusCode: item.lastStatusCode,
      lastError: item.lastError,
      trigger: item.trigger,
      attemptBase: item.attemptBase,
      status,
      completedAt: new Date(),
    };
    const fe = this.#fast.get(item._id);
    if (fe) fe.finishing = true;
    // A fast-path delivery that never got a queue entry needs no done marker.
    this.d.recorder.finish(record, !fe || fe.spilled);
    lane.finish(q, item);
    this.d.metrics.deliveries.inc({ outcome: status, endpoint: item.endpointId });
  }

  async #disable(ep: LiveEndpoint, reason: string, item: QueueDoc): Promise<void> {
    const changed = await this.d.endpoints.disable(ep.id, reason);
    if (!changed) return;
    this.d.logger.warn({ endpointId: ep.id, reason }, 'webhook endpoint disabled');
    await this.d.publisher.event(
      Event.fromPartial({
        eventId: `epd-${ep.id}-${Date.now().toString(36)}`,
        type: EventType.EndpointDisabled,
        tenantId: ep.tenantId === '*' ? item.tenantId : ep.tenantId,
        agentId: '_',
        sessionId: '_',
        occurredAt: new Date(),
        payload: { $case: 'endpointDisabled', value: { endpointId: ep.id, reason } },
      }),
    );
  }
}
