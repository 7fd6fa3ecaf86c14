/**
 * In-memory state of one leased lane: per session, the queued deliveries in
 * stream order. Only the head of a session's queue may be in flight, which
 * is what keeps one session's webhooks to one endpoint in order.
 */
import type { QueueDoc } from '../infra/collections.js';

/**
 * How long a lane remembers a finished delivery (ms): at least this, at
 * most twice this. Long enough that a reload racing the recorder and the
 * queue sweeper (seconds) does not bring it back, short enough to bound
 * memory (at 3,000 deliveries/s, about 9 MB).
 */
export const DONE_KEEP_MS = 15_000;

/**
 * How long a session's emptied queue is kept for its next delivery (ms).
 * Removing it at once and adding it back a moment later resized the lane's
 * map on nearly every delivery; a resized old map's table is allocated in
 * V8's old generation, which then filled for no reason.
 */
export const SESSION_KEEP_MS = 2_000;

/** One session's queue within a lane. */
export interface SessionQueue {
  items: QueueDoc[];
  /** True while the head is being attempted. */
  busy: boolean;
  /** When `items` last became empty (epoch ms; 0 while it is not). */
  emptySince: number;
}

/** A lane this replica holds the lease of. */
export class LaneState {
  /** Lane change counter seen at the last load. */
  v = 0;
  /** Lease expiry, epoch ms. */
  leaseUntil = 0;
  readonly sessions = new Map<string, SessionQueue>();
  /** Ids queued here (in memory). */
  readonly known = new Set<string>();
  /**
   * Ids finished recently → attempts made, so a reload racing the queue
   * delete does not resurrect them (a replay has attempts ≥ that and is
   * accepted). Two generations of DONE_KEEP_MS each, dropped whole: no
   * per-id timestamps, and no deletes that would resize the map over and
   * over (see SESSION_KEEP_MS).
   */
  #done = new Map<string, number>();
  #donePrev = new Map<string, number>();
  /** When `#done` was started (epoch ms). */
  #doneSince = Date.now();
  inFlight = 0;
  timer: NodeJS.Timeout | undefined;
  timerAt = 0;
  releasing = false;
  /** A background reload is running; `reloadAgain`: another was asked for meanwhile. */
  reloading = false;
  reloadAgain = false;
  dropped = false;
  /** Intake batches about to offer items here; the lane is not released while > 0. */
  pins = 0;
  /** True until the first load from MongoDB finished (nothing is attempted before). */
  loading = true;
  /**
   * While a reload asked for by a wake notice runs: heads beyond this
   * stream sequence wait (another replica queued deliveries here and
   * acknowledged them; they may come before what is in memory).
   */
  holdAbove = Infinity;
  /** Highest stream sequence of a delivery this replica added to the lane. */
  maxSeq = 0;
  /** Deliveries held here (what {@link size} counts). */
  count = 0;
  /**
   * Last stream sequence of the page in memory; Infinity while the whole
   * lane is. Deliveries beyond it stay in the queue (or wait here, when
   * they came before the lane was paged) until a later page covers them.
   */
  pageEnd = Infinity;
  /** Deliveries left beyond the page so far (a page load racing them does not complete the lane). */
  beyond = 0;
  /** Deliveries finished since the page was loaded. */
  finishedSincePage = 0;
  /** A load of the next page is asked for (it runs within 200 ms). */
  pageAsked = false;
  /** The next reload is that load: it may read past `pageEnd`. */
  pageForward = false;
  /** When the lane became empty (epoch ms); 0 while it has work. */
  idleSince = 0;

  constructor(
    readonly id: string,
    readonly endpointId: string,
  ) {}

  /** Adds a queued delivery (ignored when already known or finished recently). @returns true when added */
  add(doc: QueueDoc): boolean {
    if (this.known.has(doc._id)) return false;
    const done = this.finishedAttempts(doc._id);
    if (done !== undefined) {
      if (doc.attempts < done) return false;
      this.#done.delete(doc._id);
      this.#donePrev.delete(doc._id);
    }
    this.known.add(doc._id);
    if (doc.streamSeq > this.maxSeq) this.maxSeq = doc.streamSeq;
    this.count++;
    this.idleSince = 0;
    let q = this.sessions.get(doc.sessionId);
    if (!q) {
      q = { items: [], busy: false, emptySince: 0 };
      this.sessions.set(doc.sessionId, q);
    }
    q.emptySince = 0;
    const items = q.items;
    let i = items.length;
    // Usually appended; a late or replayed item is inserted in stream order
    // (never before an in-flight head).
    const floor = q.busy ? 1 : 0;
    while (i > floor && items[i - 1]!.streamSeq > doc.streamSeq) i--;
    items.splice(i, 0, doc);
    return true;
  }

  /** Removes a finished head (its session's queue is kept: see SESSION_KEEP_MS). */
  finish(q: SessionQueue, doc: QueueDoc): void {
    if (q.items[0] === doc) q.items.shift();
    else q.items.splice(q.items.indexOf(doc), 1);
    this.count--;
    this.finishedSincePage++;
    this.known.delete(doc._id);
    const now = Date.now();
    if (q.items.length === 0) q.emptySince = now;
    this.turnDone(now);
    this.#done.set(doc._id, doc.attempts);
  }

  /** Attempts made by a delivery finished here recently; undefined when not remembered. */
  finishedAttempts(id: string): number | undefined {
    return this.#done.get(id) ?? this.#donePrev.get(id);
  }

  /** Finished deliveries remembered (an id finished twice may count twice). */
  get rememberedCount(): number {
    return this.#done.size + this.#donePrev.size;
  }

  /**
   * Starts a new generation of finished ids once the current one is
   * DONE_KEEP_MS old, forgetting the one before (amortized O(1) per finish:
   * a lane held for hours under load never reloads and would otherwise
   * keep every id it delivered).
   */
  turnDone(now = Date.now()): void {
    if (now - this.#doneSince < DONE_KEEP_MS) return;
    this.#donePrev = this.#done;
    this.#done = new Map();
    this.#doneSince = now;
  }

  /** Number of queued deliveries. */
  size(): number {
    return this.count;
  }
}
