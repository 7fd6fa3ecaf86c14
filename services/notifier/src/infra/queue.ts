/**
 * The delivery queue in MongoDB.
 *
 * Intake: `enqueue()` inserts the deliveries (idempotent: `_id` =
 * `<endpoint>.<event>`, duplicates ignored), then bumps each touched lane
 * (`$inc v`, `$min dueAt: now`, upsert) — only then is the JetStream message
 * acknowledged.
 *
 * Completion: `Recorder` buffers finished deliveries and attempts and writes
 * them in batches (`insertMany` into `deliveries`, `delivery_done` and
 * `delivery_attempts`), every `flushMs` or when `maxBatch` is reached; the
 * hot path only inserts. `sweepDone()` later removes marked queue entries
 * and their markers in bulk. A crash loses at most the unflushed batch;
 * those deliveries are still queued and are delivered again (at-least-once:
 * duplicates only among deliveries in flight at the crash).
 */
import type { AnyBulkWriteOperation } from 'mongodb';
import { isDuplicateKeyError } from '@tgbridge/platform/mongo';
import { laneLocks } from './lane-locks.js';
import type {
  AttemptDoc,
  Collections,
  DeliveryDoc,
  DoneDoc,
  LaneDoc,
  QueueDoc,
} from './collections.js';

/**
 * Inserts deliveries and wakes their lanes (except `skipLanes`: lanes this
 * replica holds and has pinned, which are due already). Safe to call again
 * with the same items.
 *
 * `recheck` lists delivery ids that may have been queued and finished
 * before (their JetStream message was redelivered, or the batch is being
 * recorded again after an error): the sweeper may already have removed
 * their queue entries, so a plain insert would bring a finished delivery
 * back to life. Those found in `deliveries` are skipped; those inserted are
 * looked up again afterwards (a delivery finishing and swept between the
 * two steps) and marked done when finished.
 *
 * @returns the items newly inserted (not already queued, not finished):
 *   the only ones the caller may hand to a lane in memory (an item already
 *   queued is known to whoever holds its lane, or loaded on the next claim)
 * @throws on MongoDB errors other than duplicate keys (nothing acknowledged)
 */
export async function enqueue(
  c: Collections,
  items: QueueDoc[],
  skipLanes: ReadonlySet<string> = new Set(),
  recheck: ReadonlySet<string> = new Set(),
): Promise<QueueDoc[]> {
  if (items.length === 0) return [];
  const suspect = (list: QueueDoc[]) => list.filter((i) => recheck.has(i._id)).map((i) => i._id);
  let candidates = items;
  if (recheck.size > 0) {
    const finished = await finishedAttempts(c, suspect(items));
    candidates = items.filter((i) => !finished.has(i._id));
  }
  const dups = await insertIgnoringDuplicates(c.queue, candidates);
  let fresh = candidates.filter((i) => !dups.has(i._id));
  if (recheck.size > 0) {
    const late = await finishedAttempts(c, suspect(fresh));
    if (late.size > 0) {
      const at = new Date();
      const marks: DoneDoc[] = [...late].map(([_id, attempts]) => ({ _id, attempts, at }));
      await insertIgnoringDuplicates(c.done, marks);
      fresh = fresh.filter((i) => !late.has(i._id));
    }
  }
  const now = new Date();
  const lanes = new Map<string, string>();
  for (const it of candidates) if (!skipLanes.has(it.lane)) lanes.set(it.lane, it.endpointId);
  if (lanes.size === 0) return fresh;
  const ops: AnyBulkWriteOperation<LaneDoc>[] = [...lanes].map(([id, endpointId]) => ({
    updateOne: {
      filter: { _id: id },
      update: {
        $inc: { v: 1 },
        $min: { dueAt: now },
        $setOnInsert: { endpointId, owner: null, leaseUntil: new Date(0) },
      },
      upsert: true,
    },
  }));
  await laneLocks(c.lanes).run(lanes.keys(), async () => {
    try {
      await c.lanes.bulkWrite(ops, { ordered: false });
    } catch (err) {
      // Two replicas creating the same lane at once: one upsert loses with a
      // duplicate key; once more, the lane exists and it becomes an update.
      const errors = writeErrorsOf(err);
      if (errors.length === 0 || errors.some((e) => e.code !== 11000)) throw err;
      await c.lanes.bulkWrite(ops, { ordered: false });
    }
  });
  return fresh;
}

/** Attempts made by the finished deliveries among `ids` (id → attempts). */
async function finishedAttempts(c: Collections, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 500) {
    const docs = await c.deliveries
      .find({ _id: { $in: ids.slice(i, i + 500) } }, { projection: { attempts: 1 } })
      .toArray();
    for (const d of docs) out.set(d._id, d.attempts);
  }
  return out;
}

/** Batches the recorder writes at once (insert-only, so they may overlap). */
export const MAX_CONCURRENT_WRITES = 3;

/** Batching writer of finished deliveries and attempts. */
export class Recorder {
  #finished: DeliveryDoc[] = [];
  #attempts: AttemptDoc[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Batches being written. */
  readonly #writes = new Set<Promise<void>>();
  /** The flush that starts when a write slot frees up. */
  #next: Promise<void> | undefined;
  #onError: (err: unknown) => void;

  constructor(
    private readonly c: Collections,
    private readonly flushMs = 20,
    private readonly maxBatch = 500,
    onError: (err: unknown) => void = () => {},
  ) {
    this.#onError = onError;
  }

  /** Ids finished but not yet removed from the queue (a reload must skip them). */
  readonly pendingIds = new Set<string>();

  /**
   * Called after every successful flush with the ids of the finished
   * deliveries it wrote (the engine resumes when it held back, and
   * fast-path deliveries become durable).
   */
  onFlushed: (finishedIds: string[]) => void = () => {};

  /** Finished deliveries that were never queued in MongoDB (no `done` marker needed). */
  readonly #unmarked = new Set<string>();

  #closed = false;

  /** Buffers one attempt (dropped after close(): the process is stopping). */
  attempt(a: AttemptDoc): void {
    if (this.#closed) return;
    this.#attempts.push(a);
    this.#schedule();
  }

  /**
   * Buffers a finished delivery (removed from the queue at the next flush).
   * `queued`: false for a fast-path delivery that never had a queue entry,
   * which then gets no `done` marker either.
   */
  finish(d: DeliveryDoc, queued = true): void {
    // After close() the delivery stays queued (or its message unacknowledged): attempted again.
    if (this.#closed) return;
    if (queued) this.#unmarked.delete(d._id);
    else this.#unmarked.add(d._id);
    this.#finished.push(d);
    this.pendingIds.add(d._id);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#finished.length + this.#attempts.length >= this.maxBatch) {
      void this.flush();
      return;
    }
    this.#timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /**
   * Writes everything buffered; resolves when it and every earlier write
   * are done (errors are retried on the next flush). Up to
   * {@link MAX_CONCURRENT_WRITES} batches are written at once; with all
   * busy, the buffer becomes one batch when the first of them ends.
   */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const earlier = [...this.#writes];
    if (earlier.length >= MAX_CONCURRENT_WRITES) {
      // one waiter for all callers (called again for every item buffered meanwhile)
      return (this.#next ??= Promise.race(earlier).then(() => {
        this.#next = undefined;
        return this.flush();
      }));
    }
    const w = this.#write();
    this.#writes.add(w);
    void w.finally(() => this.#writes.delete(w));
    return Promise.all([...earlier, w]).then(() => undefined);
  }

  async #write(): Promise<void> {
    const finished = this.#finished;
    const attempts = this.#attempts;
    if (finished.length === 0 && attempts.length === 0) return;
    this.#finished = [];
    this.#attempts = [];
    try {
      // Attempts in parallel with the finished records; each record before its
      // marker (intake's redelivery check reads the records, lane loads the markers).
      await Promise.all([
        finished.length > 0 ? this.#writeFinished(finished) : undefined,
        attempts.length > 0 ? insertIgnoringDuplicates(this.c.attempts, attempts) : undefined,
      ]);
      this.onFlushed(finished.map((d) => d._id));
    } catch (err) {
      this.#finished.unshift(...finished);
      this.#attempts.unshift(...attempts);
      this.#onError(err);
      if (!this.#closed) this.#timer ??= setTimeout(() => void this.flush(), 1000);
    }
  }

  async #writeFinished(finished: DeliveryDoc[]): Promise<void> {
    const dups = await insertIgnoringDuplicates(this.c.deliveries, finished);
    // A delivery finished again (replay, or redelivered after a crash): overwrite.
    for (const d of finished.filter((f) => dups.has(f._id))) {
      await this.c.deliveries.replaceOne({ _id: d._id }, d, { upsert: true });
    }
    const marks: DoneDoc[] = finished
      .filter((d) => !this.#unmarked.has(d._id))
      .map((d) => ({ _id: d._id, attempts: d.attempts, at: d.completedAt }));
    const again =
      marks.length > 0 ? await insertIgnoringDuplicates(this.c.done, marks) : new Set<string>();
    for (const m of marks.filter((x) => again.has(x._id))) {
      await this.c.done.replaceOne({ _id: m._id }, m, { upsert: true });
    }
    for (const d of finished) {
      this.pendingIds.delete(d._id);
      this.#unmarked.delete(d._id);
    }
  }

  /**
   * Flushes once more and stops: later attempts and finished deliveries are
   * dropped, a failed last flush is not retried (those deliveries are still
   * queued, or their messages unacknowledged, so they are attempted again).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

async function insertIgnoringDuplicates<T extends { _id: string }>(
  coll: { insertMany(docs: T[], o: { ordered: false }): Promise<unknown> },
  docs: T[],
): Promise<Set<string>> {
  const dups = new Set<string>();
  // the driver refuses an empty batch (all of a redelivered batch may be finished)
  if (docs.length === 0) return dups;
  try {
    await coll.insertMany(docs, { ordered: false });
  } catch (err) {
    const errors = writeErrorsOf(err);
    if (errors.length === 0 ? !isDuplicateKeyError(err) : errors.some((e) => e.code !== 11000))
      throw err;
    for (const e of errors) {
      if (typeof e.index === 'number' && docs[e.index]) dups.add(docs[e.index]!._id);
    }
  }
  return dups;
}

/** The write errors of a bulk error (the driver gives one object or an array). */
function writeErrorsOf(err: unknown): Array<{ code?: number; index?: number }> {
  const we = (err as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(we)) return we as Array<{ code?: number; index?: number }>;
  if (we && typeof we === 'object') {
    const vals = 'code' in we ? [we] : Object.values(we);
    return vals as Array<{ code?: number; index?: number }>;
  }
  return [];
}

/**
 * Removes finished entries from the queue and their markers: one bulk
 * delete per distinct attempt count (an entry re-queued by a replay has
 * at least as many attempts as its marker and is kept). Markers younger
 * than `minAgeMs` are left for a later sweep.
 *
 * @returns the number of markers swept
 */
export async function sweepDone(c: Collections, max = 2000, minAgeMs = 0): Promise<number> {
  const cutoff = Date.now() - minAgeMs;
  // Young markers wait: a fast-path delivery spilled to the queue while its
  // attempt finished may still have its queue insert on the way.
  const marks = (await c.done.find({}).limit(max).toArray()).filter(
    (m) => m.at.getTime() <= cutoff,
  );
  if (marks.length === 0) return 0;
  const byAttempts = new Map<number, string[]>();
  for (const m of marks) {
    const list = byAttempts.get(m.attempts);
    if (list) list.push(m._id);
    else byAttempts.set(m.attempts, [m._id]);
  }
  for (const [attempts, ids] of byAttempts) {
    // chunks: a long $in list costs per document scanned on some servers (FerretDB)
    for (let i = 0; i < ids.length; i += 500) {
      await c.queue.deleteMany({
        _id: { $in: ids.slice(i, i + 500) },
        attempts: { $lt: attempts },
      });
    }
  }
  await c.done.deleteMany({ _id: { $in: marks.map((m) => m._id) } });
  return marks.length;
}

/** Markers of `ids` (attempts by id), to skip finished entries when loading a lane. */
export async function doneMarks(c: Collections, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const marks = await c.done.find({ _id: { $in: ids } }).toArray();
  return new Map(marks.map((m) => [m._id, m.attempts]));
}

/** Step 1 of loading a lane: every queue entry of lane `laneId` (finished ones included). */
export function laneEntries(c: Collections, laneId: string): Promise<QueueDoc[]> {
  return c.queue.find({ lane: laneId }).toArray();
}

/**
 * Step 2 of loading a lane: the entries of `docs` (read by
 * {@link laneEntries}) that are not finished.
 *
 * An entry counts as finished when it has a `done` marker with more
 * attempts than the entry. The sweeper deletes queue entries before their
 * markers, so an entry read in step 1 whose marker is missing here may
 * have been swept in between (entry and marker both gone): unmarked
 * entries are only kept when they are still in the queue after the
 * markers were read.
 */
export async function unfinishedEntries<T extends Pick<QueueDoc, '_id' | 'attempts'>>(
  c: Collections,
  laneId: string,
  docs: T[],
): Promise<T[]> {
  if (docs.length === 0) return [];
  const marks = await doneMarks(
    c,
    docs.map((d) => d._id),
  );
  const open = docs.filter((d) => {
    const m = marks.get(d._id);
    return m === undefined || d.attempts >= m;
  });
  if (open.every((d) => marks.has(d._id))) return open;
  const ids = open.filter((d) => !marks.has(d._id)).map((d) => d._id);
  const still =
    ids.length <= 1000
      ? await c.queue.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()
      : await c.queue.find({ lane: laneId }, { projection: { _id: 1 } }).toArray();
  const queued = new Set(still.map((d) => d._id));
  return open.filter((d) => marks.has(d._id) || queued.has(d._id));
}

/** Queue entries per reply when loading a page (see {@link loadLanePage}). */
const PAGE_BATCH = 100;

/**
 * One page of a lane ({@link loadLanePage}): the entries wanted, the last
 * stream sequence the page covers, and whether it reached the lane's end.
 */
export interface LanePage {
  docs: QueueDoc[];
  /** Stream sequence of the page's last entry (finished or not); 0 when empty. */
  lastSeq: number;
  /** True when the lane has no entries beyond the page. */
  complete: boolean;
}

/**
 * Loads the unfinished entries among the `limit` queue entries of a lane
 * with the lowest stream sequences (those up to `upTo` only), except those
 * `skip` says are known already (ids, attempts and sequences are read
 * first, whole documents only for the entries wanted). Every unfinished
 * entry up to `lastSeq` is either returned or skipped; `complete`: none
 * lies beyond it (up to `upTo`).
 *
 * @throws on MongoDB errors
 */
export async function loadLanePage(
  c: Collections,
  laneId: string,
  limit: number,
  skip: (id: string) => boolean = () => false,
  upTo = Infinity,
): Promise<LanePage> {
  const filter = upTo === Infinity ? { lane: laneId } : { lane: laneId, streamSeq: { $lte: upTo } };
  const heads = await c.queue
    .find(filter, { projection: { _id: 1, attempts: 1, streamSeq: 1 } })
    .sort({ streamSeq: 1 })
    .limit(limit)
    .toArray();
  const lastSeq = heads.at(-1)?.streamSeq ?? 0;
  const complete = heads.length < limit;
  const open = await unfinishedEntries(c, laneId, heads);
  const want = open.filter((d) => !skip(d._id)).map((d) => d._id);
  const docs: QueueDoc[] = [];
  // Replies of 100 documents (bodies and all): the driver decodes a reply
  // in one go, and one of 400 blocked the event loop for 20-30 ms.
  for (let i = 0; i < want.length; i += 500)
    docs.push(
      ...(await c.queue
        .find({ _id: { $in: want.slice(i, i + 500) } }, { batchSize: PAGE_BATCH })
        .toArray()),
    );
  docs.sort((a, b) => a.streamSeq - b.streamSeq);
  return { docs, lastSeq, complete };
}

/**
 * Loads every unfinished queue entry of a lane (one page as large as the
 * lane), except those `skip` says are known already.
 *
 * @throws on MongoDB errors
 */
export async function loadLane(
  c: Collections,
  laneId: string,
  skip: (id: string) => boolean = () => false,
): Promise<QueueDoc[]> {
  return (await loadLanePage(c, laneId, 1_000_000, skip)).docs;
}
