/**
 * A lane longer than WEBHOOK_LANE_MEMORY (a failing endpoint's backlog) is
 * held in memory one page at a time (real NATS, real MongoDB-wire server, a
 * real receiver): memory stays bounded while the endpoint fails, and once
 * it recovers every event is delivered, once, in order per session.
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
const MEMORY = 10;
const SESSIONS = 4;
const EVENTS = 60;

const suite = tenantSuite({
  tenant: TENANT,
  dbPrefix: 'notifier_pages',
  over: {
    WEBHOOK_LANE_PARTITIONS: '1',
    WEBHOOK_LANE_MEMORY: String(MEMORY),
    // failing long enough to build the backlog, not long enough to dead-letter
    WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 30 }, (_, i) => (i ? '500ms' : '0')).join(','),
  },
});

it('a failing endpoint backlog longer than the lane memory is paged and delivered in order once it recovers', async () => {
  const { bus, r } = suite;
  const n = suite.notifiers[0]!;
  await createEndpoint(bus, TENANT, `${r.url}/hook`);
  const delivered: string[] = [];
  let failing = true;
  r.reply = (req) => {
    if (failing) return { status: 503 };
    delivered.push(req.json.event_id as string);
    return { status: 204 };
  };
  const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
  const published = new Map<string, string[]>(sessions.map((s) => [s, []]));
  for (let i = 0; i < EVENTS; i++) {
    const s = sessions[i % SESSIONS]!;
    const e = messageEvent({ tenant: TENANT, agent: 'agent1', session: s });
    published.get(s)!.push(e.eventId);
    await bus.publish(e);
  }
  // the backlog is in the queue; the lane holds one page of it
  await waitFor(
    async () =>
      (await n.collections.queue.countDocuments({ eventId: { $exists: true } })) >= EVENTS,
    20_000,
    'all queued',
  );
  const lanes = n.engine.debugState().lanes as Array<{ count: number; pageEnd: number }>;
  expect(lanes).toHaveLength(1);
  expect(lanes[0]!.count).toBeLessThanOrEqual(2 * MEMORY);
  expect(lanes[0]!.pageEnd).toBeLessThan(Infinity);
  failing = false;
  await expectDeliveredInOrder(delivered, published);
}, 90_000);
