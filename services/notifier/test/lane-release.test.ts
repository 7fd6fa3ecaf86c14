/**
 * A lane released while another replica queues into it (real NATS, real
 * MongoDB-wire server, a real receiver). On FerretDB the release's write
 * can undo the other replica's concurrent bump of the lane document, so
 * the lane would look idle with a delivery in it; the releasing replica
 * looks for deliveries it never saw and marks the lane due again.
 */
import { expect, it } from 'vitest';
import { ApiSubject } from '../src/handlers/subjects.js';
import { laneId } from '../src/domain/matching.js';
import { messageEvent, queueEntry, rid, tenantSuite, waitFor } from './harness.js';

const TENANT = rid('t');
const PARTITIONS = 4;

const suite = tenantSuite({
  tenant: TENANT,
  dbPrefix: 'notifier_release',
  over: { WEBHOOK_LANE_PARTITIONS: String(PARTITIONS), WEBHOOK_LEASE_MS: '1s' },
});

it('a delivery queued into a held lane without its lane bump is delivered once the lane is released', async () => {
  const { bus, r } = suite;
  const n = suite.notifiers[0]!;
  const created = await bus.api<{ ok: boolean; endpoint: { id: string } }>(
    ApiSubject.EndpointsCreate,
    { tenant_id: TENANT, url: `${r.url}/hook`, agent_ids: ['agent1'] },
  );
  expect(created.ok).toBe(true);
  const endpointId = created.endpoint.id;
  const session = crypto.randomUUID();
  const lane = laneId(endpointId, session, PARTITIONS);
  const first = messageEvent({ tenant: TENANT, agent: 'agent1', session, sequence: 1 });
  await bus.publish(first);
  await waitFor(() => r.received.length === 1, 10_000, 'first delivered');
  expect(n.engine.heldLanes()).toContain(lane);
  // An event of an agent without endpoint: acknowledged at once, it moves
  // the ack floor past the sequence the missed delivery gets below.
  const other = messageEvent({ tenant: TENANT, agent: 'agent2', session, sequence: 2 });
  const seq = await bus.publish(other);
  await waitFor(() => n.engine.floor >= seq, 10_000, 'floor past the other event');
  // What another replica's intake writes, minus the lane bump FerretDB lost.
  const second = messageEvent({ tenant: TENANT, agent: 'agent1', session, sequence: 3 });
  await n.collections.queue.insertOne(
    queueEntry({
      endpointId,
      lane,
      eventId: second.eventId,
      streamSeq: seq,
      tenantId: TENANT,
      agentId: 'agent1',
      sessionId: session,
      body: JSON.stringify({
        event: 'new_message',
        event_id: second.eventId,
        session_id: session,
      }),
    }),
  );
  // Idle for a lease, the lane is released; the delivery is found then.
  await waitFor(() => r.received.length === 2, 10_000, 'missed delivery delivered');
  expect(r.received.map((x) => x.json.event_id)).toEqual([first.eventId, second.eventId]);
}, 60_000);
