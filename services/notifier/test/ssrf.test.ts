/**
 * SSRF protection without an allow-list: targets resolving to private,
 * loopback or link-local addresses are refused at connect time (the
 * receiver on 127.0.0.1 never sees a request), raw private IPs are refused
 * when an endpoint is created.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Notifier } from '../src/app.js';
import { ApiSubject } from '../src/handlers/subjects.js';
import {
  Bus,
  dbUrl,
  messageEvent,
  receiver,
  rid,
  startNotifier,
  testEnv,
  waitFor,
  type Receiver,
} from './harness.js';

const TENANT = rid('t');
let bus: Bus;
let notifier: Notifier;
let r: Receiver;
let stream: string;

beforeAll(async () => {
  bus = await Bus.open(inject('natsUrl'));
  r = await receiver();
  const env = testEnv({
    MONGO_URL: dbUrl(inject('mongoUrl'), 'notifier_ssrf'),
    NOTIFIER_EVENTS_FILTER: `tg.evt.${TENANT}.>`,
    // `localhost` resolves to 127.0.0.1: refused without an allow-list
    LARAVEL_BASE_URL: `http://localhost:${r.port}`,
    WEBHOOK_SECRET_TOKEN: 'token',
    WEBHOOK_ALLOWED_CIDRS: '',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
    WEBHOOK_RETRY_SCHEDULE: '0,100ms',
  });
  stream = await bus.ensureTenantStream(env.EVENTS_STREAM!, TENANT);
  env.EVENTS_STREAM = stream;
  bus.prefix = env.NOTIFIER_SUBJECT_PREFIX!;
  notifier = await startNotifier(env);
});

afterAll(async () => {
  await notifier?.stop();
  await r?.close();
  if (stream?.startsWith('NFEVT')) await bus.deleteStream(stream);
  await bus?.close();
});

it('refuses a hostname that resolves to 127.0.0.1 (checked on the address connected)', async () => {
  const e = messageEvent({ tenant: TENANT, agent: 'a1', session: crypto.randomUUID() });
  await bus.publish(e);
  const got = await waitFor(async () => {
    const x = await bus.api<{
      attempts: Array<{ error: string | null; status_code: number | null }>;
    }>(ApiSubject.AttemptsList, {
      tenant_id: TENANT,
      event_id: e.eventId,
    });
    return x.attempts.length === 2 ? x : undefined;
  });
  for (const a of got.attempts) {
    expect(a.status_code).toBeNull();
    expect(a.error).toMatch(/refused target: .*127\.0\.0\.1.*not allowed/);
  }
  expect(r.received).toHaveLength(0);
});

it('refuses raw private, loopback, link-local, CGNAT, ULA and IPv4-mapped addresses', async () => {
  for (const url of [
    `http://127.0.0.1:${r.port}/hook`,
    'https://10.1.2.3/hook',
    'https://192.168.0.10/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://100.64.0.1/hook',
    'https://[fd00::1]/hook',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[64:ff9b::a00:1]/hook',
    'https://224.0.0.1/hook',
  ]) {
    const res = await bus.api<{ ok: boolean; code: string }>(ApiSubject.EndpointsCreate, {
      tenant_id: TENANT,
      url,
    });
    expect(res, url).toMatchObject({ ok: false, code: 'URL_NOT_ALLOWED' });
  }
  const plain = await bus.api<{ ok: boolean; code: string }>(ApiSubject.EndpointsCreate, {
    tenant_id: TENANT,
    url: 'https://hooks.example.com/x',
  });
  expect(plain.ok).toBe(true);
});
