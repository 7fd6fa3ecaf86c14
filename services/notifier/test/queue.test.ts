/**
 * The delivery queue against the real MongoDB-wire server: a finished
 * delivery is never handed out again, whatever the interleaving of a lane
 * load, the sweeper and a redelivered intake batch (the steps are driven
 * one by one here, so each interleaving is exact).
 */
import type { Connection } from 'mongoose';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { closeMongo, connectMongo } from '@tgbridge/platform/mongo';
import {
  collections,
  ensureIndexes,
  type Collections,
  type QueueDoc,
} from '../src/infra/collections.js';
import {
  enqueue,
  laneEntries,
  loadLane,
  Recorder,
  sweepDone,
  unfinishedEntries,
} from '../src/infra/queue.js';
import { dbUrl, queueEntry, rid } from './harness.js';

let mongo: Connection;
let c: Collections;
let lane: string;

function item(i: number, session = 's1'): QueueDoc {
  const eventId = rid('evt_');
  return queueEntry({
    endpointId: 'ep_q',
    lane,
    eventId,
    streamSeq: i + 1,
    sessionId: session,
    body: `{"n":${i}}`,
  });
}

/** Records `items` as delivered after one attempt, as the engine does. */
async function finish(items: QueueDoc[]): Promise<void> {
  const rec = new Recorder(c);
  for (const it of items) {
    const { lane: _l, dueAt: _d, ...rest } = it;
    rec.finish({ ...rest, attempts: 1, status: 'delivered', completedAt: new Date() });
  }
  await rec.close();
}

beforeAll(async () => {
  mongo = await connectMongo({
    url: dbUrl(inject('mongoUrl'), 'nfqueue'),
    logger: pino({ level: 'silent' }),
    autoIndex: false,
  });
  c = collections(mongo.db!);
  await ensureIndexes(c, 3_600_000);
});

afterAll(async () => {
  await closeMongo(mongo);
});

beforeEach(() => {
  lane = `${rid('ep_q')}:0`;
});

describe('delivery queue', () => {
  it('a lane load that races the sweeper does not hand out swept deliveries', async () => {
    const done = Array.from({ length: 20 }, (_, i) => item(i));
    const open = item(20);
    await enqueue(c, [...done, open]);
    await finish(done);

    // Step 1 reads the entries while they are still queued (and marked) ...
    const read = await laneEntries(c, lane);
    expect(read).toHaveLength(21);
    // ... the sweeper removes the finished entries and then their markers ...
    expect(await sweepDone(c)).toBeGreaterThanOrEqual(20);
    // ... and step 2 runs after both are gone: only the open entry is left.
    const left = await unfinishedEntries(c, lane, read);
    expect(left.map((d) => d._id)).toEqual([open._id]);
  });

  it('finished entries not swept yet are skipped; a replayed entry is kept', async () => {
    const [a, b, replayed] = [item(0), item(1), item(2)];
    await enqueue(c, [a, b, replayed]);
    await finish([a, replayed]);
    // a replay queues the entry again with the attempts made so far
    await c.queue.replaceOne(
      { _id: replayed._id },
      { ...replayed, attempts: 1, trigger: 'replay', attemptBase: 1 },
    );
    const left = await loadLane(c, lane);
    expect(left.map((d) => d._id).sort()).toEqual([b._id, replayed._id].sort());
  });

  it('a redelivered intake batch does not queue finished and swept deliveries again', async () => {
    const batch = Array.from({ length: 10 }, (_, i) => item(i));
    expect(await enqueue(c, batch)).toHaveLength(10);
    await finish(batch.slice(0, 6));
    await sweepDone(c);
    expect(await loadLane(c, lane)).toHaveLength(4);

    // The same messages come back from JetStream (AckWait passed, or recorded again after an error).
    const again = batch.map((d) => ({ ...d }));
    const fresh = await enqueue(c, again, new Set(), new Set(again.map((d) => d._id)));
    expect(fresh).toEqual([]);
    const queued = await c.queue.find({ lane }).toArray();
    expect(queued.map((d) => d._id).sort()).toEqual(
      batch
        .slice(6)
        .map((d) => d._id)
        .sort(),
    );
    expect((await loadLane(c, lane)).map((d) => d._id).sort()).toEqual(
      batch
        .slice(6)
        .map((d) => d._id)
        .sort(),
    );
  });

  it('a redelivered batch whose deliveries all finished is recorded without error', async () => {
    // After a crash, JetStream redelivers messages whose deliveries were all
    // finished (and recorded) but not acknowledged: nothing is left to insert.
    const batch = Array.from({ length: 5 }, (_, i) => item(i));
    await finish(batch);
    const again = batch.map((d) => ({ ...d }));
    expect(await enqueue(c, again, new Set(), new Set(again.map((d) => d._id)))).toEqual([]);
    expect(await c.queue.countDocuments({ lane })).toBe(0);
  });

  it('concurrent enqueues into one lane each count on its change counter', async () => {
    // FerretDB applies an update as read, change, write back: without the
    // per-lane write lock most of these increments are lost, and a holder
    // comparing change counters would miss new deliveries.
    await Promise.all(Array.from({ length: 40 }, (_, i) => enqueue(c, [item(i, `s${i}`)])));
    const doc = await c.lanes.findOne({ _id: lane });
    expect(doc?.v).toBe(40);
    expect(await c.queue.countDocuments({ lane })).toBe(40);
  });

  it('enqueue returns only the items it inserted', async () => {
    const [a, b] = [item(0), item(1)];
    expect((await enqueue(c, [a])).map((d) => d._id)).toEqual([a._id]);
    expect((await enqueue(c, [{ ...a }, b])).map((d) => d._id)).toEqual([b._id]);
  });
});
