/**
 * `/api/webhooks` routes end to end: gateway → NATS → notifier → MongoDB,
 * with real webhook deliveries to a receiver on 127.0.0.1 (tenant-scoped,
 * seed-000 reply style).
 */
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueDbUrl } from '@tgbridge/testinfra';
import type { Notifier } from '../../notifier/src/app.js';
import {
  Bus,
  messageEvent,
  receiver,
  rid,
  startNotifier,
  testEnv,
  waitFor,
  type Receiver,
} from '../../notifier/test/harness.js';
import { createGateway, type Gateway } from '../src/app.js';
import { loadGatewayConfig } from '../src/config.js';

const ADMIN = 'webhook-test-admin-key-0123456789';
const TENANT = rid('wt');
const OTHER = rid('wo');

let gateway: Gateway;
let url: string;
let notifier: Notifier;
let bus: Bus;
let r: Receiver;
let stream: string;
let key: string;
let otherKey: string;

/** Loosely typed JSON reply (tests read nested fields directly). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Reply = Record<string, any>;

async function call(method: string, path: string, body?: unknown, apiKey = key) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      'x-api-key': apiKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Reply };
}

beforeAll(async () => {
  bus = await Bus.open(inject('natsUrl'));
  r = await receiver();
  const env = testEnv({
    MONGO_URL: uniqueDbUrl(inject('mongoUrl'), 'gw_webhooks_notifier'),
    NOTIFIER_EVENTS_FILTER: `tg.evt.${TENANT}.>`,
    NOTIFIER_SUBJECT_PREFIX: 'tg.notifier',
    WEBHOOK_RETRY_SCHEDULE: '0,100ms',
  });
  stream = await bus.ensureTenantStream(env.EVENTS_STREAM!, TENANT);
  env.EVENTS_STREAM = stream;
  notifier = await startNotifier(env);
  gateway = createGateway(
    loadGatewayConfig({
      NATS_URL: inject('natsUrl'),
      MONGO_URL: uniqueDbUrl(inject('mongoUrl'), 'gw_webhooks'),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      API_SECRET_KEY: ADMIN,
      AUTH_GRPC_ADDRESSES: '127.0.0.1:1',
      LOG_LEVEL: 'warn',
    }),
    { logger: pino({ level: 'warn' }) },
  );
  url = await gateway.start();
  const k = await call('POST', '/api/admin/api-keys', { tenant_id: TENANT, name: 'crm' }, ADMIN);
  key = k.json.api_key;
  const o = await call('POST', '/api/admin/api-keys', { tenant_id: OTHER, name: 'other' }, ADMIN);
  otherKey = o.json.api_key;
});

afterAll(async () => {
  await gateway?.stop();
  await notifier?.stop();
  await r?.close();
  if (stream?.startsWith('NFEVT')) await bus.deleteStream(stream);
  await bus?.close();
});

describe('/api/webhooks', () => {
  let id: string;
  let secret: string;

  it('creates an endpoint and shows its secret once', async () => {
    const res = await call('POST', '/api/webhooks', {
      url: `${r.url}/crm/{agent_id}`,
      description: 'CRM',
      event_types: ['new_message', 'message_edited'],
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      success: true,
      endpoint: { url: `${r.url}/crm/{agent_id}`, enabled: true },
    });
    expect(res.json.secret).toMatch(/^whsec_/);
    id = res.json.endpoint.id;
    secret = res.json.secret;
    const got = await call('GET', `/api/webhooks/${id}`);
    expect(got.json.endpoint.id).toBe(id);
    expect(JSON.stringify(got.json)).not.toContain(secret);
    const list = await call('GET', '/api/webhooks?limit=10');
    expect(list.json.endpoints.map((e: { id: string }) => e.id)).toContain(id);
  });

  it('is tenant-scoped', async () => {
    const res = await call('GET', `/api/webhooks/${id}`, undefined, otherKey);
    expect(res).toMatchObject({
      status: 404,
      json: { success: false, code: 'ENDPOINT_NOT_FOUND' },
    });
    const list = await call('GET', '/api/webhooks', undefined, otherKey);
    expect(list.json.endpoints).toEqual([]);
  });

  it('validates input (private targets, unknown fields types)', async () => {
    const bad = await call('POST', '/api/webhooks', { url: 'http://169.254.169.254/latest' });
    expect(bad).toMatchObject({ status: 400, json: { success: false, code: 'URL_NOT_ALLOWED' } });
    const wrong = await call('POST', '/api/webhooks', { url: 42 });
    expect(wrong.status).toBe(400);
    expect(wrong.json.success).toBe(false);
  });

  it('delivers, lists deliveries and attempts per endpoint and per event', async () => {
    const e = messageEvent({ tenant: TENANT, agent: '123', session: crypto.randomUUID() });
    await bus.publish(e);
    const got = await waitFor(() => r.received.find((x) => x.json.event_id === e.eventId));
    expect(got.path).toBe('/crm/123');
    expect(
      new Webhook(secret).verify(got.body, got.headers as Record<string, string>),
    ).toBeTruthy();
    const deliveries = await waitFor(async () => {
      const d = await call('GET', `/api/webhooks/${id}/deliveries`);
      return d.json.deliveries?.[0]?.status === 'delivered' ? d : undefined;
    });
    expect(deliveries.json.deliveries[0]).toMatchObject({
      event_id: e.eventId,
      attempts: 1,
      last_status_code: 200,
    });
    const byEvent = await call('GET', `/api/webhooks/events/${e.eventId}/attempts`);
    expect(byEvent.json.attempts).toHaveLength(1);
    expect(byEvent.json.attempts[0]).toMatchObject({ status_code: 200, outcome: 'delivered' });
    const perEndpoint = await call('GET', `/api/webhooks/${id}/attempts?limit=1`);
    expect(perEndpoint.json.attempts).toHaveLength(1);
  });

  it('replays a dead-lettered delivery and recovers a time range', async () => {
    r.reply = () => ({ status: 500 });
    const since = new Date(Date.now() - 1000).toISOString();
    const e = messageEvent({ tenant: TENANT, agent: '124', session: crypto.randomUUID() });
    await bus.publish(e);
    const failed = await waitFor(async () => {
      const d = await call('GET', `/api/webhooks/${id}/deliveries?status=failed`);
      return d.json.deliveries?.length === 1 ? d : undefined;
    });
    const deliveryId = failed.json.deliveries[0].id as string;
    r.reply = () => ({ status: 200 });
    const replay = await call(
      'POST',
      `/api/webhooks/deliveries/${encodeURIComponent(deliveryId)}/replay`,
    );
    expect(replay).toMatchObject({
      status: 202,
      json: { success: true, delivery: { id: deliveryId, status: 'pending' } },
    });
    await waitFor(async () => {
      const d = await call('GET', `/api/webhooks/deliveries/${encodeURIComponent(deliveryId)}`);
      return d.json.delivery?.status === 'delivered';
    });
    const again = await call('POST', `/api/webhooks/${id}/recover`, {
      since,
      until: new Date().toISOString(),
    });
    expect(again).toMatchObject({ status: 200, json: { success: true, replayed: 0 } });
  });

  it('rotates the secret, updates and deletes', async () => {
    const rot = await call('POST', `/api/webhooks/${id}/rotate-secret`, { grace_seconds: 60 });
    expect(rot.status).toBe(200);
    expect(rot.json.secret).not.toBe(secret);
    expect(rot.json.endpoint.previous_secret_expires_at).toBeTruthy();
    const upd = await call('PATCH', `/api/webhooks/${id}`, {
      enabled: false,
      description: 'paused',
    });
    expect(upd.json.endpoint).toMatchObject({ enabled: false, description: 'paused' });
    const del = await call('DELETE', `/api/webhooks/${id}`);
    expect(del).toMatchObject({ status: 200, json: { success: true, deleted: true } });
    const gone = await call('GET', `/api/webhooks/${id}`);
    expect(gone.status).toBe(404);
  });
});
