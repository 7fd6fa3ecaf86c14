/**
 * The fast path (NOTIFIER_FAST_PATH_MS) against real NATS, a real
 * MongoDB-wire server and a real HTTP receiver: a delivery to a lane this
 * replica holds goes out before any queue entry is written, and its
 * JetStream message stays unacknowledged until the delivery is recorded; a
 * delivery still in flight after the window gets its queue entry and the
 * message is acknowledged then.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type ServerHandle } from '@tgbridge/testinfra';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Notifier } from '../src/app.js';
import { laneId } from '../src/domain/matching.js';
import { ApiSubject } from '../src/handlers/subjects.js';
import { Bus, dbUrl, messageEvent, rid, startNotifier, testEnv, waitFor } from './harness.js';

const TENANT = rid('t');
/** WEBHOOK_LANE_PARTITIONS of the notifier under test */
const PARTITIONS = 8;

/** A receiver that answers 200 at once, or holds requests of chosen events until released. */
interface HoldingReceiver {
  url: string;
  received: string[];
  hold: Set<string>;
  held: Map<string, ServerResponse>;
  release(eventId: string): void;
  server: Server;
}

async function holdingReceiver(): Promise<HoldingReceiver> {
  const r: HoldingReceiver = {
    url: '',
    received: [],
    hold: new Set(),
    held: new Map(),
    release(eventId) {
      const res = r.held.get(eventId);
      r.held.delete(eventId);
      res?.writeHead(200).end('ok');
    },
    server: undefined as unknown as Server,
  };
  r.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      r.received.push(id);
      if (r.hold.has(id)) r.held.set(id, res);
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  return r;
}

describe('fast path', () => {
  let nats: ServerHandle;
  let bus: Bus;
  let notifier: Notifier;
  let stream: string;
  let consumer: string;
  let rx: HoldingReceiver;

  beforeAll(async () => {
    // A nats-server of its own: the suite's shared events stream carries other
    // files' events, whose stream sequences are gaps to this consumer's floor,
    // and a delivery past a gap is queued first instead of taking the fast path.
    nats = await startNats({ reuseEnv: false });
    bus = await Bus.open(nats.url);
    rx = await holdingReceiver();
    const env = testEnv({
      NATS_URL: nats.url,
      MONGO_URL: dbUrl(inject('mongoUrl'), 'notifier_fast'),
      NOTIFIER_EVENTS_FILTER: `tg.evt.${TENANT}.>`,
      NOTIFIER_FAST_PATH_MS: '5s',
      WEBHOOK_LANE_PARTITIONS: String(PARTITIONS),
      NOTIFIER_ACK_WAIT_MS: '30s',
      WEBHOOK_TIMEOUT_MS: '15s',
      WEBHOOK_LEASE_MS: '30s',
    });
    stream = await bus.ensureTenantStream(env.EVENTS_STREAM!, TENANT);
    env.EVENTS_STREAM = stream;
    consumer = env.NOTIFIER_CONSUMER!;
    bus.prefix = env.NOTIFIER_SUBJECT_PREFIX!;
    notifier = await startNotifier(env);
  });

  afterAll(async () => {
    for (const id of [...rx.held.keys()]) rx.release(id);
    await notifier?.stop();
    rx.server.closeAllConnections();
    await new Promise((r) => rx.server.close(r));
    if (stream?.startsWith('NFEVT')) await bus.deleteStream(stream);
    await bus?.close();
    await nats?.stop();
  });

  const ackPending = async () =>
    (await (await jetstreamManager(bus.nc)).consumers.info(stream, consumer)).num_ack_pending;
  const queued = (eventId: string) => notifier.collections.queue.countDocuments({ eventId });

  /** An endpoint for a new agent, with its lane held after one warm-up delivery. */
  async function heldLane(): Promise<{ agent: string; session: string }> {
    const agent = rid('a');
    const session = crypto.randomUUID();
    const res = await bus.api<{ ok: boolean }>(ApiSubject.EndpointsCreate, {
      tenant_id: TENANT,
      url: `${rx.url}/hook`,
      agent_ids: [agent],
    });
    expect(res.ok).toBe(true);
    const warm = messageEvent({ tenant: TENANT, agent, session });
    await bus.publish(warm);
    await waitFor(() => rx.received.includes(warm.eventId), 10_000, 'warm-up delivered');
    return { agent, session };
  }

  it('a delivery to a held lane goes out before any queue entry; the message is acked once it is recorded', async () => {
    const { agent, session } = await heldLane();
    await waitFor(async () => (await ackPending()) === 0, 10_000, 'warm-up acked');
    const e = messageEvent({ tenant: TENANT, agent, session });
    rx.hold.add(e.eventId);
    await bus.publish(e);
    await waitFor(() => rx.held.has(e.eventId), 10_000, 'request in flight');
    // In flight inside the window: no queue entry, the message not acknowledged.
    expect(await queued(e.eventId)).toBe(0);
    expect(await ackPending()).toBe(1);
    rx.release(e.eventId);
    const d = await waitFor(
      () => notifier.collections.deliveries.findOne({ eventId: e.eventId }),
      10_000,
      'delivery recorded',
    );
    expect(d.status).toBe('delivered');
    await waitFor(async () => (await ackPending()) === 0, 10_000, 'message acked');
    expect(await queued(e.eventId)).toBe(0);
    // never queued, so no done marker either
    expect(await notifier.collections.done.findOne({ _id: d._id })).toBeNull();
    expect(rx.received.filter((id) => id === e.eventId)).toHaveLength(1);
  });

  it('a stalled endpoint gets no fast-path deliveries: a new event is queued and acked at once', async () => {
    const { agent, session } = await heldLane();
    await waitFor(async () => (await ackPending()) === 0, 10_000, 'warm-up acked');
    // other sessions whose deliveries fall into the held lane (same partition)
    const sameLane = (): string => {
      for (;;) {
        const s = crypto.randomUUID();
        if (s !== session && laneId('ep', s, PARTITIONS) === laneId('ep', session, PARTITIONS))
          return s;
      }
    };
    // e1 hangs at the receiver: the endpoint has a request in flight and no progress
    const e1 = messageEvent({ tenant: TENANT, agent, session: sameLane() });
    rx.hold.add(e1.eventId);
    await bus.publish(e1);
    await waitFor(() => rx.held.has(e1.eventId), 10_000, 'e1 in flight');
    // past the stall threshold (a quarter of the 5 s window), inside the window
    await new Promise((r) => setTimeout(r, 1500));
    // another session of the same endpoint: nothing ahead of it in its lane
    const e2 = messageEvent({ tenant: TENANT, agent, session: sameLane() });
    rx.hold.add(e2.eventId);
    await bus.publish(e2);
    await waitFor(() => rx.held.has(e2.eventId), 10_000, 'e2 in flight');
    // Queued at once (a fast-path delivery has no entry inside its 5 s
    // window) and its message acknowledged while e1's still waits for its
    // window: e2's did not wait for the stalled endpoint.
    await waitFor(async () => (await queued(e2.eventId)) === 1, 1500, 'e2 queued at once');
    await waitFor(async () => (await ackPending()) === 1, 1500, "only e1's message pending");
    expect(await queued(e1.eventId)).toBe(0);
    rx.release(e1.eventId);
    rx.release(e2.eventId);
    await waitFor(async () => (await ackPending()) === 0, 10_000, 'messages acked');
    for (const e of [e1, e2]) {
      const d = await waitFor(
        () => notifier.collections.deliveries.findOne({ eventId: e.eventId }),
        10_000,
        'delivery recorded',
      );
      expect(d.status).toBe('delivered');
      expect(rx.received.filter((id) => id === e.eventId)).toHaveLength(1);
    }
  });

  it('a delivery still in flight after the window is queued, and the message acked then', async () => {
    const { agent, session } = await heldLane();
    const e = messageEvent({ tenant: TENANT, agent, session });
    rx.hold.add(e.eventId);
    await bus.publish(e);
    await waitFor(() => rx.held.has(e.eventId), 10_000, 'request in flight');
    await waitFor(async () => (await queued(e.eventId)) === 1, 10_000, 'queued after the window');
    await waitFor(async () => (await ackPending()) === 0, 10_000, 'message acked');
    expect(rx.held.has(e.eventId)).toBe(true);
    rx.release(e.eventId);
    // Finished: the queue entry is marked done and swept; delivered exactly once.
    await waitFor(async () => (await queued(e.eventId)) === 0, 15_000, 'queue entry swept');
    const d = await notifier.collections.deliveries.findOne({ eventId: e.eventId });
    expect(d?.status).toBe('delivered');
    expect(rx.received.filter((id) => id === e.eventId)).toHaveLength(1);
  });
});
