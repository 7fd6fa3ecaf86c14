/**
 * Login flows end to end: REST (gateway) → gRPC (two auth replicas,
 * round-robin) → GramJS → the Telegram emulator, on real NATS and MongoDB.
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Event } from '@tgbridge/proto/events/v1/events';
import { Keyring } from '@tgbridge/platform/crypto';
import { waitFor } from '../../auth/test/harness.js';
import { startStack, type Stack } from './stack.js';

let seq = 0;
/** A unique emulator phone. */
function phone(): string {
  return `+1555${String(Date.now() % 1_000_000).padStart(6, '0')}${seq++ % 10}`;
}

describe('login flows through the gateway', () => {
  let s: Stack;
  let tenant: string;
  let nc: NatsConnection;
  let sub: Subscription;
  const events: Event[] = [];
  let db: Connection;
  /** Every secret used in this file, checked against the captured logs at the end. */
  const secrets: string[] = [];

  beforeAll(async () => {
    tenant = `t${randomBytes(4).toString('hex')}`;
    s = await startStack('gwlogin', { replicas: 2, gatewayEnv: { DEFAULT_TENANT_ID: tenant } });
    nc = await connect({ servers: s.authEnv.natsUrl });
    sub = nc.subscribe(`tg.evt.${tenant}.>`);
    void (async () => {
      for await (const m of sub) {
        events.push(Event.fromJSON(m.json()));
        // Play JetStream's part (no stream here: streams on tg.evt.> may not overlap
        // with those of other test files on the same server).
        m.respond(JSON.stringify({ stream: 'test', seq: events.length }));
      }
    })();
    db = await mongoose.createConnection(s.authEnv.mongoUrl).asPromise();
  });
  afterAll(async () => {
    if (process.env.DEBUG_LOGS) {
      for (const l of s.logs.lines)
        if (/failed|error|completed|started|rpc ok/i.test(l)) console.log(l.slice(0, 300));
    }
    await s?.stop();
    await nc?.drain();
    await db?.close();
  });

  async function phoneLogin(agent: number | string, p: string) {
    const r = await s.call('POST', '/api/telegram/request-code', { agent_id: agent, phone: p });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const code = s.emu.control.lastCode(p)!.code;
    secrets.push(code);
    const v = await s.call('POST', '/api/telegram/verify-code', {
      session_id: r.json.session_id,
      code,
    });
    return { sessionId: r.json.session_id as string, request: r, verify: v };
  }

  it('QR login accepted through the emulator control API → status connected with phone and user_id', async () => {
    const user = s.emu.control.createUser({ phone: phone(), firstName: 'Qr' });
    const r = await s.call('POST', '/api/telegram/request-qr', { agent_id: 123 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, expires_in: 300, status: 'pending' });
    expect(r.json.qr_code).toMatch(/^data:image\/png;base64,iVBORw0KG/);
    const sessionId = r.json.session_id as string;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const token = /token=([A-Za-z0-9_-]+)/.exec(r.json.qr_url as string)![1]!;
    secrets.push(token);
    s.emu.control.acceptLoginToken(token, user.id);
    const st = await waitFor(
      async () => {
        const x = await s.call('GET', `/api/telegram/status/${sessionId}`);
        return x.json.connected === true ? x : undefined;
      },
      20_000,
      'connected',
    );
    expect(st.status).toBe(200);
    expect(st.json).toMatchObject({
      success: true,
      connected: true,
      status: 'connected',
      phone: `+${user.phone.replace(/^\+/, '')}`,
      user_id: user.id,
    });
    expect(typeof st.json.last_activity).toBe('string');
    const ev = await waitFor(() =>
      events.find((e) => e.sessionId === sessionId && e.type === 'session_authorized'),
    );
    expect(ev.agentId).toBe('123');
    expect(ev.payload?.$case === 'session' && ev.payload.value.user?.id).toBe(String(user.id));
  });

  it('phone login with the right code → connected; a new login of the same agent replaces the old one', async () => {
    const p = phone();
    const user = s.emu.control.createUser({ phone: p, firstName: 'Pho', username: 'phouser' });
    const first = await phoneLogin('agent-7', p);
    expect(first.request.json).toMatchObject({
      success: true,
      status: 'awaiting_code',
      code_type: 'app',
      phone_masked: `+${p.slice(1, 4)}***${p.slice(-3)}`,
    });
    expect(first.verify.status).toBe(200);
    expect(first.verify.json).toEqual({
      success: true,
      connected: true,
      phone: p,
      user_id: user.id,
      session_id: first.sessionId,
      status: 'connected',
    });
    const second = await phoneLogin('agent-7', p);
    expect(second.verify.json.connected).toBe(true);
    const old = await s.call('GET', `/api/telegram/status/${first.sessionId}`);
    expect(old.json).toMatchObject({ connected: false, status: 'logged_out' });
    const list = await s.call('GET', '/api/telegram/sessions?agent_id=agent-7');
    expect(
      (list.json.sessions as Array<{ session_id: string; status: string }>).map((x) => [
        x.session_id,
        x.status,
      ]),
    ).toEqual([
      [second.sessionId, 'connected'],
      [first.sessionId, 'logged_out'],
    ]);
    await waitFor(() =>
      events.find((e) => e.sessionId === first.sessionId && e.type === 'session_logged_out'),
    );
  });

  it('wrong code then right code', async () => {
    const p = phone();
    s.emu.control.createUser({ phone: p, firstName: 'Wrong' });
    const r = await s.call('POST', '/api/telegram/request-code', { agent_id: 5, phone: p });
    const code = s.emu.control.lastCode(p)!.code;
    secrets.push(code);
    const wrong = code === '11111' ? '22222' : '11111';
    const bad = await s.call('POST', '/api/telegram/verify-code', {
      session_id: r.json.session_id,
      code: wrong,
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ success: false, code: 'PHONE_CODE_INVALID' });
    expect(typeof bad.json.error).toBe('string');
    const good = await s.call('POST', '/api/telegram/verify-code', {
      session_id: r.json.session_id,
      code,
    });
    expect(good.status).toBe(200);
    expect(good.json.connected).toBe(true);
  });

  it('2FA: wrong password → 400, right password → connected', async () => {
    const p = phone();
    const password = `pw-${randomBytes(6).toString('hex')}`;
    secrets.push(password);
    const user = s.emu.control.createUser({
      phone: p,
      firstName: 'Two',
      password,
      passwordHint: 'usual',
    });
    const { sessionId, verify } = await phoneLogin(77, p);
    expect(verify.status).toBe(200);
    expect(verify.json).toMatchObject({
      success: true,
      connected: false,
      requires_password: true,
      status: 'awaiting_password',
      password_hint: 'usual',
    });
    const st = await s.call('GET', `/api/telegram/status/${sessionId}`);
    expect(st.json).toMatchObject({ status: 'awaiting_password', requires_password: true });
    const wrongPw = `${password}-wrong`;
    secrets.push(wrongPw);
    const bad = await s.call('POST', '/api/telegram/verify-password', {
      session_id: sessionId,
      password: wrongPw,
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ success: false, code: 'PASSWORD_HASH_INVALID' });
    const good = await s.call('POST', '/api/telegram/verify-password', {
      session_id: sessionId,
      password,
    });
    expect(good.status).toBe(200);
    expect(good.json).toMatchObject({ success: true, connected: true, phone: p, user_id: user.id });
  });

  it('2FA after a QR scan → awaiting_password, then connected', async () => {
    const password = `qpw-${randomBytes(6).toString('hex')}`;
    secrets.push(password);
    const user = s.emu.control.createUser({ phone: phone(), firstName: 'QrTwo', password });
    const r = await s.call('POST', '/api/telegram/request-qr', { agent_id: 'qr2fa' });
    const token = /token=([A-Za-z0-9_-]+)/.exec(r.json.qr_url as string)![1]!;
    s.emu.control.acceptLoginToken(token, user.id);
    await waitFor(async () => {
      const x = await s.call('GET', `/api/telegram/status/${r.json.session_id}`);
      return x.json.status === 'awaiting_password';
    });
    const good = await s.call('POST', '/api/telegram/verify-password', {
      session_id: r.json.session_id,
      password,
    });
    expect(good.json).toMatchObject({ connected: true, user_id: user.id });
  });

  it('FLOOD_WAIT → 429 with Retry-After', async () => {
    const p = phone();
    s.emu.control.createUser({ phone: p, firstName: 'Flood' });
    s.emu.control.injectFault({
      kind: 'flood_wait',
      method: 'auth.sendCode',
      phone: p,
      seconds: 42,
      times: 1,
    });
    const r = await s.call('POST', '/api/telegram/request-code', { agent_id: 9, phone: p });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('42');
    expect(r.json).toMatchObject({ success: false, code: 'FLOOD_WAIT', retry_after: 42 });
  });

  it('number without an account → 400 PHONE_NUMBER_INVALID; banned → 403', async () => {
    const r = await s.call('POST', '/api/telegram/request-code', {
      agent_id: 9,
      phone: '+1999000111',
    });
    const code = s.emu.control.lastCode('+1999000111')?.code ?? '12345';
    const v = await s.call('POST', '/api/telegram/verify-code', {
      session_id: r.json.session_id,
      code,
    });
    expect(v.status).toBe(400);
    expect(v.json.code).toBe('PHONE_NUMBER_INVALID');
    const p = phone();
    s.emu.control.createUser({ phone: p, firstName: 'Banned' });
    s.emu.control.banPhone(p);
    const b = await s.call('POST', '/api/telegram/request-code', { agent_id: 9, phone: p });
    expect(b.status).toBe(403);
    expect(b.json.code).toBe('PHONE_NUMBER_BANNED');
  });

  it('two auth replicas behind the gateway share the calls of one flow', async () => {
    const before = s.authLogs.map((c) => c.lines.filter((l) => l.includes('"rpc ok"')).length);
    const p = phone();
    s.emu.control.createUser({ phone: p, firstName: 'Rr' });
    const { sessionId, verify } = await phoneLogin('rr', p);
    expect(verify.json.connected).toBe(true);
    for (let i = 0; i < 4; i++) await s.call('GET', `/api/telegram/status/${sessionId}`);
    const after = s.authLogs.map((c) => c.lines.filter((l) => l.includes('"rpc ok"')).length);
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
  });

  it('disconnect → the emulator shows the authorization gone and status says logged_out', async () => {
    const p = phone();
    const user = s.emu.control.createUser({ phone: p, firstName: 'Bye' });
    const { sessionId } = await phoneLogin('bye', p);
    expect(s.emu.control.authKeys(user.id)).toHaveLength(1);
    const d = await s.call('POST', '/api/telegram/disconnect', { session_id: sessionId });
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({ success: true, message: 'اتصال با موفقیت قطع شد' });
    expect(s.emu.control.authKeys(user.id)).toHaveLength(0);
    const st = await s.call('GET', `/api/telegram/status/${sessionId}`);
    expect(st.json).toMatchObject({ success: true, connected: false, status: 'logged_out' });
    const raw = await db.collection('sessions').findOne({ _id: sessionId as never });
    expect(raw?.sessionSecret).toBeUndefined();
    const again = await s.call('POST', '/api/telegram/disconnect', { session_id: sessionId });
    expect(again.status).toBe(200);
  });

  it('tenant isolation: a key of another tenant sees none of these sessions', async () => {
    const p = phone();
    s.emu.control.createUser({ phone: p, firstName: 'Iso' });
    const { sessionId } = await phoneLogin('iso', p);
    const created = await s.call('POST', '/api/admin/api-keys', {
      tenant_id: 'other-tenant',
      name: 'crm 2',
    });
    expect(created.status).toBe(201);
    const otherKey = created.json.api_key as string;
    secrets.push(otherKey);
    const st = await s.call('GET', `/api/telegram/status/${sessionId}`, undefined, otherKey);
    expect(st.status).toBe(404);
    expect(st.json).toMatchObject({ success: false, code: 'SESSION_NOT_FOUND' });
    const dc = await s.call(
      'POST',
      '/api/telegram/disconnect',
      { session_id: sessionId },
      otherKey,
    );
    expect(dc.status).toBe(404);
    const vc = await s.call(
      'POST',
      '/api/telegram/verify-code',
      { session_id: sessionId, code: '12345' },
      otherKey,
    );
    expect(vc.status).toBe(404);
    const list = await s.call('GET', '/api/telegram/sessions', undefined, otherKey);
    expect(list.json).toEqual({ success: true, sessions: [] });
    const mine = await s.call('GET', '/api/telegram/sessions?agent_id=iso');
    expect((mine.json.sessions as unknown[]).length).toBe(1);
    // Bearer works too, and the tenant key may not use admin routes.
    const bearer = await fetch(`${s.url}/api/telegram/sessions`, {
      headers: { authorization: `Bearer ${otherKey}` },
    });
    expect(bearer.status).toBe(200);
    const admin = await s.call('GET', '/api/admin/api-keys', undefined, otherKey);
    expect(admin.status).toBe(403);
  });

  it('missing or invalid API key → 401; revoked key → 401', async () => {
    const none = await s.call('POST', '/api/telegram/request-qr', { agent_id: 1 }, null);
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
    const bad = await s.call('POST', '/api/telegram/request-qr', { agent_id: 1 }, 'nope-not-a-key');
    expect(bad.status).toBe(401);
    const forged = await s.call(
      'GET',
      '/api/telegram/sessions',
      undefined,
      `tgb_k0123456789abcdef_${'A'.repeat(43)}`,
    );
    expect(forged.status).toBe(401);
    const created = await s.call('POST', '/api/admin/api-keys', { tenant_id: 'rev' });
    const key = created.json.api_key as string;
    secrets.push(key);
    expect((await s.call('GET', '/api/telegram/sessions', undefined, key)).status).toBe(200);
    const listed = await s.call('GET', '/api/admin/api-keys?tenant_id=rev');
    const info = (listed.json.keys as Array<Record<string, unknown>>)[0]!;
    expect(info).toMatchObject({ tenant_id: 'rev', revoked_at: null });
    expect(typeof info.last_used_at).toBe('string');
    expect(JSON.stringify(listed.json)).not.toContain(key);
    const stored = await db.collection('api_keys').findOne({ _id: info.id as never });
    expect(JSON.stringify(stored)).not.toContain(key.split('_')[2]);
    const del = await s.call('DELETE', `/api/admin/api-keys/${info.id}`);
    expect(del.status).toBe(200);
    expect((await s.call('GET', '/api/telegram/sessions', undefined, key)).status).toBe(401);
    expect((await s.call('GET', '/healthz', undefined, null)).status).toBe(200);
  });

  it('malformed JSON and wrong types → 400 with a code', async () => {
    const malformed = await s.call('POST', '/api/telegram/request-qr', '{"agent_id": 1');
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ success: false, code: 'INVALID_JSON' });
    const wrongType = await s.call('POST', '/api/telegram/request-qr', { agent_id: true });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    const missing = await s.call('POST', '/api/telegram/verify-code', {
      session_id: 'not-a-uuid',
      code: '1',
    });
    expect(missing.status).toBe(400);
    expect(missing.json.code).toBe('VALIDATION_ERROR');
    const objCode = await s.call('POST', '/api/telegram/verify-code', {
      session_id: '00000000-0000-4000-8000-000000000000',
      code: { x: 1 },
    });
    expect(objCode.status).toBe(400);
    const badParam = await s.call('GET', '/api/telegram/status/xyz');
    expect(badParam.status).toBe(400);
    const unknown = await s.call(
      'GET',
      '/api/telegram/status/00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
    const big = await s.call('POST', '/api/telegram/request-qr', {
      agent_id: 1,
      pad: 'x'.repeat(70_000),
    });
    expect(big.status).toBe(413);
    expect(big.json.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('session secret in MongoDB is ciphertext, never the plain session string', async () => {
    const p = phone();
    s.emu.control.createUser({ phone: p, firstName: 'Enc' });
    const { sessionId } = await phoneLogin('enc', p);
    const raw = await db.collection('sessions').findOne({ _id: sessionId as never });
    const sealed = raw!.sessionSecret as string;
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const plain = Keyring.fromEnv(s.authEnv.keys).open(sealed, sessionId);
    expect(plain.length).toBeGreaterThan(100);
    secrets.push(plain);
    expect(JSON.stringify(raw)).not.toContain(plain);
    expect(JSON.stringify(raw)).not.toContain(plain.slice(10, 60));
  });

  it('a completed login records the account update state for the connector to recover from', async () => {
    const p = phone();
    const me = s.emu.control.createUser({ phone: p, firstName: 'State' });
    const other = s.emu.control.createUser({ phone: phone(), firstName: 'Other' });
    s.emu.control.sendMessage({ from: other.id, to: { user: me.id }, text: 'before login' });
    const { sessionId } = await phoneLogin('state', p);
    const raw = await db.collection('sessions').findOne({ _id: sessionId as never });
    // pts counts the message received before the login: the connector's
    // getDifference starts after it, so anything later is recovered.
    expect(raw!.updateState).toMatchObject({ pts: expect.any(Number), date: expect.any(Number) });
    expect((raw!.updateState as { pts: number }).pts).toBeGreaterThan(0);
  });

  it('OpenAPI, docs, health, readiness and metrics are served', async () => {
    const spec = await s.call('GET', '/openapi.json', undefined, null);
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.json.paths as object)).toEqual(
      expect.arrayContaining([
        '/api/telegram/request-qr',
        '/api/telegram/status/{session_id}',
        '/api/telegram/request-code',
      ]),
    );
    expect((await fetch(`${s.url}/docs`)).status).toBeLessThan(400);
    const ready = await s.call('GET', '/readyz', undefined, null);
    expect(ready.json).toMatchObject({
      status: 'ready',
      checks: { mongo: 'ok', nats: 'ok', auth: 'ok' },
    });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('tgbridge_gateway_http_request_duration_seconds');
  });

  it('no password, code, key or session string appears in captured logs', async () => {
    expect(secrets.length).toBeGreaterThan(5);
    const text = s.logs.text();
    expect(text.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      // A 5-digit login code also turns up inside timestamps and as a JSON
      // number (a port); as a leak it stands alone: in a string or in text.
      const leaked = /^\d+$/.test(secret)
        ? new RegExp(`(?<![0-9.:])${secret}(?![0-9])`).test(text)
        : text.includes(secret);
      expect(leaked, 'a secret leaked into the logs').toBe(false);
    }
    expect(text).not.toContain('test-admin-key');
  });
});
