/**
 * A dead endpoint (every request slot taken by a request that hangs) gets
 * its new deliveries queued in MongoDB only, not held in memory (real NATS,
 * real MongoDB-wire server, a real receiver): held, each kept its event's
 * body alive through young-generation GCs, which then took longer for
 * every other endpoint's deliveries too. Once the endpoint answers again,
 * every event is delivered, once, in order per session.
 */
import { expect, it } from 'vitest';
import {
  createEndpoint,
  expectDeliveredInOrder,
  messageEvent,
  rid,
  tenantSuite,
  waitFor,
} from './harness.js';

const TENANT = rid('t');
const SLOTS = 2;
const SESSIONS = 4;
const EVENTS = 40;

const suite = tenantSuite({
  tenant: TENANT,
  dbPrefix: 'notifier_stuck',
  over: {
    WEBHOOK_LANE_PARTITIONS: '1',
    WEBHOOK_ENDPOINT_CONCURRENCY: String(SLOTS),
    // requests hang for the whole test unless the receiver drops them
    WEBHOOK_TIMEOUT_MS: '60s',
  },
});

it("a dead endpoint's deliveries wait in the queue, not in memory, and all go out in order once it answers", async () => {
  const { bus, r } = suite;
  const n = suite.notifiers[0]!;
  await createEndpoint(bus, TENANT, `${r.url}/hook`);
  const delivered: string[] = [];
  let dead = true;
  r.reply = (req) => {
    if (dead) return 'hang';
    delivered.push(req.json.event_id as string);
    return { status: 204 };
  };
  const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
  const published = new Map<string, string[]>(sessions.map((s) => [s, []]));
  const publish = async (s: string) => {
    const e = messageEvent({ tenant: TENANT, agent: 'agent1', session: s });
    published.get(s)!.push(e.eventId);
    await bus.publish(e);
  };
  // every slot taken by a hanging request, and no progress for longer than
  // the stall threshold (a quarter of the 1 s fast-path window)
  for (const s of sessions.slice(0, SLOTS)) await publish(s);
  await waitFor(() => r.received.length >= SLOTS, 10_000, 'slots taken');
  await new Promise((res) => setTimeout(res, 500));
  for (let i = 0; i < EVENTS - SLOTS; i++) await publish(sessions[i % SESSIONS]!);
  await waitFor(
    async () =>
      (await n.collections.queue.countDocuments({ eventId: { $exists: true } })) >= EVENTS - SLOTS,
    20_000,
    'all queued',
  );
  type LaneView = { id: string; v: number; count: number; pageEnd: number };
  const lane = () => (n.engine.debugState().lanes as LaneView[])[0]!;
  expect(n.engine.debugState().lanes).toHaveLength(1);
  // only the hanging heads are held; the rest waits beyond the page
  expect(lane().count).toBe(SLOTS);
  expect(lane().pageEnd).toBeLessThan(Infinity);
  // A change notice (another replica queued into the lane) reloads the
  // page, not the backlog beyond it.
  const { v } = lane();
  await n.collections.lanes.updateOne({ _id: lane().id }, { $inc: { v: 1 } });
  await waitFor(() => lane().v > v, 10_000, 'lane reloaded');
  expect(lane().count).toBe(SLOTS);
  expect(r.received).toHaveLength(SLOTS);
  // it answers again: the hanging requests fail and are retried
  dead = false;
  await r.down();
  await r.up();
  await expectDeliveredInOrder(delivered, published);
}, 90_000);
