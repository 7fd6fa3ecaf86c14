/**
 * Two notifier replicas share one durable consumer and the delivery lanes
 * (real NATS, real MongoDB-wire server, a real receiver): every event is
 * delivered once and in order per session, also while one replica stops
 * mid-stream and the other takes over its lanes.
 */
import { expect, it } from 'vitest';
import type { Notifier } from '../src/app.js';
import { ApiSubject } from '../src/handlers/subjects.js';
import { messageEvent, receiver, rid, tenantSuite, waitFor } from './harness.js';

const TENANT = rid('t');
const SESSIONS = 20;
const EVENTS = 400;

const suite = tenantSuite({
  tenant: TENANT,
  dbPrefix: 'notifier_replicas',
  replicas: 2,
  over: { WEBHOOK_LANE_PARTITIONS: '8' },
});

it('an endpoint gets the events published right after its create call, whichever replica takes them', async () => {
  const { bus } = suite;
  // The create call is served by one replica; the events may reach the
  // other first, which must have loaded the new endpoint by then.
  for (let round = 0; round < 10; round++) {
    const agent = rid('ag');
    const rr = await receiver();
    try {
      const created = await bus.api<{ ok: boolean }>(ApiSubject.EndpointsCreate, {
        tenant_id: TENANT,
        url: `${rr.url}/hook`,
        agent_ids: [agent],
      });
      expect(created.ok).toBe(true);
      const events = Array.from({ length: 3 }, () =>
        messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() }),
      );
      for (const e of events) await bus.publish(e);
      await waitFor(() => rr.received.length >= 3, 10_000, `round ${round}: 3 delivered`);
    } finally {
      await rr.close();
    }
  }
}, 120_000);

it('two replicas deliver every event once, in order per session, while one of them stops mid-stream', async () => {
  const { bus, r, notifiers } = suite;
  const [a, b] = notifiers as [Notifier, Notifier];
  const created = await bus.api<{ ok: boolean; endpoint: { id: string } }>(
    ApiSubject.EndpointsCreate,
    { tenant_id: TENANT, url: `${r.url}/hook` },
  );
  expect(created.ok).toBe(true);
  const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
  const published = new Map<string, string[]>(sessions.map((s) => [s, []]));
  let stopped: Promise<void> | undefined;
  let stoppedLanes = 0;
  let [gone, kept] = [a, b];
  for (let i = 0; i < EVENTS; i++) {
    const s = sessions[i % SESSIONS]!;
    const e = messageEvent({
      tenant: TENANT,
      agent: 'agent1',
      session: s,
      sequence: Math.floor(i / SESSIONS) + 1,
    });
    published.get(s)!.push(e.eventId);
    await bus.publish(e);
    if (i === EVENTS / 2) {
      // stop the replica holding more lanes (claims race; either may hold all)
      const held = (n: Notifier) => a.collections.lanes.countDocuments({ owner: n.engine.owner });
      if ((await held(b)) > (await held(a))) [gone, kept] = [b, a];
      stoppedLanes = await held(gone);
      stopped = gone.stop(); // graceful: in-flight finish, lanes released
    }
    if (i % 40 === 0) await new Promise((res) => setTimeout(res, 10));
  }
  await stopped;
  await waitFor(
    () => new Set(r.received.map((x) => x.json.event_id)).size === EVENTS,
    30_000,
    `all ${EVENTS} delivered`,
  ).catch(async (err: unknown) => {
    // what is stuck where, for the failure report
    const got = new Set(r.received.map((x) => x.json.event_id));
    const missing = [...published.values()].flat().filter((id) => !got.has(id));
    const queued = await kept.collections.queue.find({ eventId: { $in: missing } }).toArray();
    const lanes = await kept.collections.lanes.find({}).toArray();
    console.error(
      JSON.stringify({ missing: missing.length, queued: queued.length, lanes }),
      JSON.stringify({ kept: kept.engine.debugState() }),
    );
    throw err;
  });
  await new Promise((res) => setTimeout(res, 500));
  const ids = r.received.map((x) => x.json.event_id as string);
  expect(ids.length, 'no duplicates without a crash').toBe(EVENTS);
  for (const s of sessions) {
    const got = r.received.filter((x) => x.json.session_id === s).map((x) => x.json.event_id);
    expect(got, `order of session ${s}`).toEqual(published.get(s));
  }
  expect(stoppedLanes, 'lanes the stopped replica held').toBeGreaterThan(0);
  // the replica that stopped released its lanes (the other claims them as work arrives)
  const lanes = await kept.collections.lanes.find({ endpointId: created.endpoint.id }).toArray();
  expect(lanes.length).toBeGreaterThan(0);
  expect(lanes.filter((l) => l.owner === gone.engine.owner)).toEqual([]);
  // deleting the endpoint removes its lanes' claim documents too
  const claimsOf = { _id: { $regex: `^${created.endpoint.id}:` } };
  expect(await kept.collections.laneClaims.countDocuments(claimsOf)).toBeGreaterThan(0);
  await bus.api(ApiSubject.EndpointsDelete, { tenant_id: TENANT, id: created.endpoint.id });
  expect(await kept.collections.laneClaims.countDocuments(claimsOf)).toBe(0);
}, 120_000);
