/**
 * Delivery semantics against real NATS, a real MongoDB-wire server and real
 * HTTP receivers on 127.0.0.1 (issue 6 "Tests").
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SessionStatus } from '@tgbridge/proto/common/v1/common';
import { Event } from '@tgbridge/proto/events/v1/events';
import type { Notifier } from '../src/app.js';
import { ApiSubject } from '../src/handlers/subjects.js';
import {
  Bus,
  dbUrl,
  messageEvent,
  receiver,
  rid,
  sessionEvent,
  startNotifier,
  testEnv,
  waitFor,
  whsec,
  type Receiver,
} from './harness.js';

const TENANT = rid('t');
const TOKEN = 'seed-000-bearer-token';
const SIGNING = whsec();

let bus: Bus;
let notifier: Notifier;
let defaultReceiver: Receiver;
let stream: string;
const receivers: Receiver[] = [];

interface ApiEndpoint {
  ok: boolean;
  endpoint: { id: string; enabled: boolean; disabled_reason: string | null };
  secret: string;
}

async function endpoint(
  agent: string,
  r: Receiver,
  extra: Record<string, unknown> = {},
): Promise<ApiEndpoint> {
  const res = await bus.api<ApiEndpoint>(ApiSubject.EndpointsCreate, {
    tenant_id: TENANT,
    url: `${r.url}/hook`,
    agent_ids: [agent],
    description: `test ${agent}`,
    ...extra,
  });
  expect(res.ok).toBe(true);
  return res;
}

async function recv(): Promise<Receiver> {
  const r = await receiver();
  receivers.push(r);
  return r;
}

function verify(secret: string, r: { body: string; headers: Record<string, unknown> }): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });
}

interface AttemptsReply {
  ok: boolean;
  attempts: Array<{
    status_code: number | null;
    outcome: string;
    attempt: number;
    error: string | null;
    trigger: string;
  }>;
}
interface DeliveriesReply {
  ok: boolean;
  deliveries: Array<{ id: string; status: string; attempts: number; event_id: string }>;
}

beforeAll(async () => {
  bus = await Bus.open(inject('natsUrl'));
  defaultReceiver = await recv();
  const env = testEnv({
    MONGO_URL: dbUrl(inject('mongoUrl'), 'notifier'),
    NOTIFIER_EVENTS_FILTER: `tg.evt.${TENANT}.>`,
    LARAVEL_BASE_URL: defaultReceiver.url,
    WEBHOOK_SECRET_TOKEN: TOKEN,
    WEBHOOK_SIGNING_SECRET: SIGNING,
    WEBHOOK_RETRY_SCHEDULE: '0,300ms,600ms,1s,1.5s,2s',
  });
  stream = await bus.ensureTenantStream(env.EVENTS_STREAM!, TENANT);
  env.EVENTS_STREAM = stream;
  bus.prefix = env.NOTIFIER_SUBJECT_PREFIX!;
  notifier = await startNotifier(env);
});

afterAll(async () => {
  await notifier?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  if (stream?.startsWith('NFEVT')) await bus.deleteStream(stream);
  await bus?.close();
});

describe('notifier delivery', () => {
  it('default endpoint: seed-000 URL, Bearer token, Standard Webhooks signature, seed body', async () => {
    const agent = rid('a');
    const session = crypto.randomUUID();
    const e = messageEvent({ tenant: TENANT, agent, session, sequence: 7 });
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await bus.publish(e, tp);
    const got = await waitFor(() =>
      defaultReceiver.received.find((r) => r.json.event_id === e.eventId),
    );
    expect(got.path).toBe(`/api/webhooks/telegram/${agent}`);
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toBe(e.eventId);
    expect(got.headers['user-agent']).toMatch(/tgbridge/);
    expect(got.headers.traceparent).toBe(tp);
    expect(verify(SIGNING, got)).toBeTruthy();
    expect(got.json).toEqual({
      event: 'new_message',
      session_id: session,
      message: {
        id: expect.any(Number),
        from: {
          id: 987654321,
          first_name: 'علی',
          last_name: 'محمدی',
          username: 'ali_m',
          phone: '+989123456789',
        },
        chat: { id: 987654321, type: 'private' },
        text: 'سلام، می‌خوام محصولتون رو بخرم',
        date: '2025-12-20T10:30:00Z',
        reply_to_message_id: null,
      },
      event_id: e.eventId,
      agent_id: agent,
      occurred_at: e.occurredAt!.toISOString(),
      sequence: 7,
    });
    expect(Object.keys(got.json).slice(0, 3)).toEqual(['event', 'session_id', 'message']);

    const s = sessionEvent({
      tenant: TENANT,
      agent,
      session,
      type: 'connection_lost',
      status: SessionStatus.DISCONNECTED,
    });
    await bus.publish(s);
    const lost = await waitFor(() =>
      defaultReceiver.received.find((r) => r.json.event_id === s.eventId),
    );
    expect(verify(SIGNING, lost)).toBeTruthy();
    expect(lost.json).toMatchObject({
      event: 'connection_lost',
      session_id: session,
      status: 'disconnected',
      reason: 'network',
    });
    expect(lost.json.message).toBeUndefined();
  });

  it('500 then 200: delivered once more with the same webhook-id; the attempt log shows both', async () => {
    const agent = rid('a');
    const r = await recv();
    let n = 0;
    r.reply = () => (++n === 1 ? { status: 500, body: 'boom' } : { status: 200 });
    const ep = await endpoint(agent, r);
    const e = messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() });
    await bus.publish(e);
    await waitFor(() => r.received.length >= 2);
    await new Promise((res) => setTimeout(res, 500));
    expect(r.received).toHaveLength(2);
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([e.eventId, e.eventId]);
    for (const x of r.received) expect(verify(ep.secret, x)).toBeTruthy();
    expect(r.received[0]!.body).toBe(r.received[1]!.body);
    const log = await waitFor(async () => {
      const a = await bus.api<AttemptsReply>(ApiSubject.AttemptsList, {
        tenant_id: TENANT,
        event_id: e.eventId,
        endpoint_id: ep.endpoint.id,
      });
      return a.attempts.length === 2 ? a : undefined;
    });
    const attempts = [...log.attempts].sort((a, b) => a.attempt - b.attempt);
    expect(attempts.map((a) => [a.attempt, a.status_code, a.outcome])).toEqual([
      [1, 500, 'retry'],
      [2, 200, 'delivered'],
    ]);
    const d = await waitFor(async () => {
      const x = await bus.api<DeliveriesReply>(ApiSubject.DeliveriesList, {
        tenant_id: TENANT,
        endpoint_id: ep.endpoint.id,
      });
      return x.deliveries[0]?.status === 'delivered' ? x : undefined;
    });
    expect(d.deliveries[0]).toMatchObject({
      status: 'delivered',
      attempts: 2,
      event_id: e.eventId,
    });
  });

  it('receiver down for a while: everything is delivered after it returns, none lost', async () => {
    const agent = rid('a');
    const r = await recv();
    await endpoint(agent, r);
    await r.down();
    const sessions = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const e = messageEvent({ tenant: TENANT, agent, session: sessions[i % 3]!, text: `m${i}` });
      ids.push(e.eventId);
      await bus.publish(e);
    }
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.received).toHaveLength(0);
    await r.up();
    await waitFor(
      () => new Set(r.received.map((x) => x.json.event_id)).size === 30,
      20_000,
      'all 30 delivered',
    );
    expect(new Set(r.received.map((x) => x.json.event_id))).toEqual(new Set(ids));
  });

  it('per-session order holds while another session fails (only that session is held back)', async () => {
    const agent = rid('a');
    const r = await recv();
    const bad = crypto.randomUUID();
    const good = crypto.randomUUID();
    let badFailures = 0;
    r.reply = (x) =>
      x.json.session_id === bad && badFailures++ < 3 ? { status: 503 } : { status: 200 };
    await endpoint(agent, r);
    const published: Record<string, string[]> = { [bad]: [], [good]: [] };
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      for (const s of [bad, good]) {
        const e = messageEvent({
          tenant: TENANT,
          agent,
          session: s,
          sequence: i + 1,
          text: `${i}`,
        });
        published[s]!.push(e.eventId);
        await bus.publish(e);
      }
    }
    const okOf = (s: string) =>
      r.received.filter((x) => x.json.session_id === s).map((x) => x.json.event_id as string);
    await waitFor(() => new Set(okOf(good)).size === 20, 15_000, 'good session delivered').catch(
      async (err) => {
        console.log(
          'ENGINE',
          JSON.stringify(notifier.engine.debugState()),
          'good got',
          new Set(okOf(good)).size,
        );
        console.log('LANES', JSON.stringify(await notifier.collections.lanes.find({}).toArray()));
        console.log(
          'QUEUE',
          JSON.stringify(await notifier.collections.queue.find({ sessionId: good }).toArray()),
        );
        throw err;
      },
    );
    const goodDone = Date.now() - t0;
    await waitFor(() => new Set(okOf(bad)).size === 20, 20_000, 'bad session delivered');
    // The good session was never held back by the failing one.
    expect(okOf(good)).toEqual(published[good]);
    expect(goodDone).toBeLessThan(3000);
    // The failing session: its first event was retried, and nothing after it was sent before it succeeded.
    const badSeen = okOf(bad);
    const firstOther = badSeen.findIndex((id) => id !== published[bad]![0]);
    expect(badSeen.slice(0, firstOther)).toEqual(Array(4).fill(published[bad]![0]));
    expect(badSeen.slice(firstOther)).toEqual(published[bad]!.slice(1));
  });

  it('a hanging endpoint does not delay another endpoint beyond a small bound', async () => {
    const slowAgent = rid('a');
    const fastAgent = rid('a');
    const slow = await recv();
    slow.reply = () => 'hang';
    const fast = await recv();
    await endpoint(slowAgent, slow);
    await endpoint(fastAgent, fast);
    // warm-up: traffic on the fast endpoint (its lanes are held)
    for (let i = 0; i < 24; i++)
      await bus.publish(
        messageEvent({ tenant: TENANT, agent: fastAgent, session: crypto.randomUUID() }),
      );
    await waitFor(() => new Set(fast.received.map((x) => x.json.event_id)).size === 24);
    // the slow endpoint is saturated: every request it gets hangs until the 2 s timeout
    for (let i = 0; i < 40; i++)
      await bus.publish(
        messageEvent({ tenant: TENANT, agent: slowAgent, session: crypto.randomUUID() }),
      );
    await waitFor(() => slow.received.length >= 32, 5000, 'slow endpoint saturated');
    const hungAt = Date.now();
    const sentAt = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const e = messageEvent({ tenant: TENANT, agent: fastAgent, session: crypto.randomUUID() });
      sentAt.set(e.eventId, Date.now());
      await bus.publish(e);
    }
    await waitFor(() => fast.received.length >= 64, 10_000, 'fast endpoint got all');
    const delays = fast.received
      .slice(24)
      .map((x) => x.at - sentAt.get(x.json.event_id as string)!);
    // All of it happened while the slow endpoint's requests were still hanging.
    expect(Math.max(...fast.received.map((x) => x.at)) - hungAt).toBeLessThan(2000);
    expect(Math.max(...delays)).toBeLessThan(1000);
  });

  it('dead letter after the last attempt; replay delivers it', async () => {
    const agent = rid('a');
    const r = await recv();
    r.reply = () => ({ status: 500 });
    const ep = await endpoint(agent, r);
    const session = crypto.randomUUID();
    const nc = bus.nc;
    const exhausted: Event[] = [];
    const sub = nc.subscribe(`tg.evt.${TENANT}.${agent}.${session}.message_attempt_exhausted`, {
      callback: (_e, m) => {
        exhausted.push(Event.fromJSON(m.json()));
      },
    });
    const e = messageEvent({ tenant: TENANT, agent, session });
    await bus.publish(e);
    const id = `${ep.endpoint.id}.${e.eventId}`;
    await waitFor(
      async () => {
        const x = await bus.api<DeliveriesReply>(ApiSubject.DeliveriesList, {
          tenant_id: TENANT,
          endpoint_id: ep.endpoint.id,
        });
        return x.deliveries[0]?.status === 'failed';
      },
      20_000,
      'dead letter',
    );
    expect(r.received).toHaveLength(6);
    const jsm = await jetstreamManager(nc);
    const dlqStream = await jsm.streams.find(`tg.dlq.${TENANT}.${ep.endpoint.id}`);
    const letter = await jsm.streams.getMessage(dlqStream, {
      last_by_subj: `tg.dlq.${TENANT}.${ep.endpoint.id}`,
    });
    expect(letter?.json<{ _id: string; eventId: string; attempts: number }>()).toMatchObject({
      _id: id,
      eventId: e.eventId,
      attempts: 6,
    });
    await waitFor(() => exhausted.length > 0, 5000, 'exhausted event');
    expect(exhausted[0]!.payload).toMatchObject({
      $case: 'exhausted',
      value: { deliveryId: id, attempts: 6, lastStatusCode: 500 },
    });
    sub.unsubscribe();

    r.reply = () => ({ status: 200 });
    const replay = await bus.api<{ ok: boolean }>(ApiSubject.DeliveriesReplay, {
      tenant_id: TENANT,
      id,
    });
    expect(replay.ok).toBe(true);
    await waitFor(() => r.received.length === 7, 10_000, 'replayed delivery');
    expect(r.received[6]!.headers['webhook-id']).toBe(e.eventId);
    expect(verify(ep.secret, r.received[6]!)).toBeTruthy();
    const after = await waitFor(async () => {
      const x = await bus.api<{
        ok: boolean;
        delivery: { status: string };
        attempts: AttemptsReply['attempts'];
      }>(ApiSubject.DeliveriesGet, { tenant_id: TENANT, id });
      return x.delivery?.status === 'delivered' ? x : undefined;
    });
    expect(after.attempts.at(-1)).toMatchObject({
      trigger: 'replay',
      outcome: 'delivered',
      status_code: 200,
    });
  });

  it('recover replays the failed deliveries of a time range', async () => {
    const agent = rid('a');
    const r = await recv();
    r.reply = () => ({ status: 500 });
    const ep = await endpoint(agent, r);
    const since = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 3; i++)
      await bus.publish(messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() }));
    await waitFor(
      async () => {
        const x = await bus.api<DeliveriesReply>(ApiSubject.DeliveriesList, {
          tenant_id: TENANT,
          endpoint_id: ep.endpoint.id,
          status: 'failed',
        });
        return x.deliveries.length === 3;
      },
      20_000,
      'three dead letters',
    );
    r.reply = () => ({ status: 204 });
    const rec = await bus.api<{ ok: boolean; replayed: number }>(ApiSubject.EndpointsRecover, {
      tenant_id: TENANT,
      id: ep.endpoint.id,
      since,
      until: new Date().toISOString(),
    });
    expect(rec).toMatchObject({ ok: true, replayed: 3 });
    await waitFor(async () => {
      const x = await bus.api<DeliveriesReply>(ApiSubject.DeliveriesList, {
        tenant_id: TENANT,
        endpoint_id: ep.endpoint.id,
        status: 'delivered',
      });
      return x.deliveries.length === 3;
    });
  });

  it('deleting an endpoint leaves none of its deliveries queued, not even those under way', async () => {
    const agent = rid('a');
    const r = await recv();
    r.reply = () => 'hang';
    const ep = await endpoint(agent, r);
    for (let i = 0; i < 5; i++)
      await bus.publish(messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() }));
    await waitFor(() => r.received.length >= 5);
    const del = await bus.api<{ ok: boolean }>(ApiSubject.EndpointsDelete, {
      tenant_id: TENANT,
      id: ep.endpoint.id,
    });
    expect(del.ok).toBe(true);
    // the hanging attempts time out (2 s) after the delete, and would be retried
    await new Promise((res) => setTimeout(res, 4000));
    const c = notifier.collections;
    expect(await c.queue.countDocuments({ endpointId: ep.endpoint.id })).toBe(0);
    expect(await c.lanes.countDocuments({ endpointId: ep.endpoint.id })).toBe(0);
  });

  it('410 Gone disables the endpoint', async () => {
    const agent = rid('a');
    const r = await recv();
    r.reply = () => ({ status: 410 });
    const ep = await endpoint(agent, r);
    const disabled: Event[] = [];
    const sub = bus.nc.subscribe(`tg.evt.${TENANT}._._.endpoint_disabled`, {
      callback: (_e, m) => {
        disabled.push(Event.fromJSON(m.json()));
      },
    });
    await bus.publish(messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() }));
    const got = await waitFor(async () => {
      const x = await bus.api<ApiEndpoint>(ApiSubject.EndpointsGet, {
        tenant_id: TENANT,
        id: ep.endpoint.id,
      });
      return x.endpoint.enabled === false ? x : undefined;
    });
    expect(got.endpoint.disabled_reason).toBe('gone');
    await waitFor(
      () =>
        disabled.some(
          (d) =>
            d.payload?.$case === 'endpointDisabled' &&
            d.payload.value.endpointId === ep.endpoint.id,
        ),
      5000,
    );
    sub.unsubscribe();
    await bus.publish(messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() }));
    await new Promise((res) => setTimeout(res, 800));
    expect(r.received).toHaveLength(1);
  });

  it('secret rotation: two signatures during the grace period, both verify', async () => {
    const agent = rid('a');
    const r = await recv();
    const ep = await endpoint(agent, r);
    const rot = await bus.api<ApiEndpoint & { endpoint: { previous_secret_expires_at: string } }>(
      ApiSubject.EndpointsRotate,
      {
        tenant_id: TENANT,
        id: ep.endpoint.id,
        grace_ms: 60_000,
      },
    );
    expect(rot.ok).toBe(true);
    expect(rot.secret).not.toBe(ep.secret);
    expect(rot.endpoint.previous_secret_expires_at).toBeTruthy();
    await bus.publish(messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() }));
    const got = await waitFor(() => r.received[0]);
    const sigs = String(got.headers['webhook-signature']).split(' ');
    expect(sigs).toHaveLength(2);
    expect(sigs.every((s) => s.startsWith('v1,'))).toBe(true);
    expect(verify(rot.secret, got)).toBeTruthy();
    expect(verify(ep.secret, got)).toBeTruthy();
    expect(() => verify(whsec(), got)).toThrow();
  });

  it('redirects are not followed (a redirect to a private address reaches nothing)', async () => {
    const agent = rid('a');
    const r = await recv();
    r.reply = () => ({
      status: 302,
      headers: { location: 'http://169.254.169.254/latest/meta-data/' },
    });
    const ep = await endpoint(agent, r);
    const e = messageEvent({ tenant: TENANT, agent, session: crypto.randomUUID() });
    await bus.publish(e);
    const log = await waitFor(async () => {
      const a = await bus.api<AttemptsReply>(ApiSubject.AttemptsList, {
        tenant_id: TENANT,
        event_id: e.eventId,
        endpoint_id: ep.endpoint.id,
      });
      return a.attempts.length >= 1 ? a : undefined;
    });
    expect(log.attempts[0]).toMatchObject({ status_code: 302, outcome: 'retry' });
    expect(log.attempts[0]!.error).toMatch(/redirects are not followed/);
  });

  it('refuses endpoint URLs that target private addresses', async () => {
    for (const url of [
      'http://10.0.0.1/hook',
      'http://169.254.169.254/latest',
      'https://[::ffff:10.0.0.1]/x',
      'http://100.64.0.1/x',
    ]) {
      const res = await bus.api<{ ok: boolean; code: string; status: number }>(
        ApiSubject.EndpointsCreate,
        { tenant_id: TENANT, url },
      );
      expect(res, url).toMatchObject({ ok: false, code: 'URL_NOT_ALLOWED', status: 400 });
    }
  });
});
