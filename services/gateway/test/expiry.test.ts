/**
 * Time-dependent login behaviour with short emulator TTLs: QR tokens are
 * replaced as they expire, expired codes are 410, and whole flows expire
 * and are cleaned up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mongoose from 'mongoose';
import { waitFor } from '../../auth/test/harness.js';
import { startStack, type Stack } from './stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('expiry', () => {
  let s: Stack;
  let short: Stack;
  beforeAll(async () => {
    s = await startStack('gwexp', {
      emulator: { loginTokenTtlSeconds: 3, codeTtlSeconds: 2 },
      authExtra: { QR_REFRESH_MARGIN_MS: '500' },
    });
    short = await startStack('gwflow', { authExtra: { LOGIN_FLOW_TTL_MS: '2500' } });
  });
  afterAll(async () => {
    await s?.stop();
    await short?.stop();
  });

  it('QR token expiry → status returns a new, scannable code', async () => {
    const user = s.emu.control.createUser({ phone: '+15557770001', firstName: 'Exp' });
    const r = await s.call('POST', '/api/telegram/request-qr', { agent_id: 1 });
    const first = r.json.qr_url as string;
    expect(r.json.qr_expires_in).toBeLessThanOrEqual(3);
    await sleep(3500);
    const st = await s.call('GET', `/api/telegram/status/${r.json.session_id}`);
    expect(st.json.status).toBe('pending');
    expect(st.json.qr_url).not.toBe(first);
    expect(st.json.qr_code).not.toBe(r.json.qr_code);
    expect(st.json.qr_code).toMatch(/^data:image\/png;base64,/);
    expect(st.json.qr_expires_in as number).toBeGreaterThan(0);
    const token = /token=([A-Za-z0-9_-]+)/.exec(st.json.qr_url as string)![1]!;
    s.emu.control.acceptLoginToken(token, user.id);
    await waitFor(async () => {
      const x = await s.call('GET', `/api/telegram/status/${r.json.session_id}`);
      return x.json.connected === true;
    });
  });

  it('expired code → 410 PHONE_CODE_EXPIRED', async () => {
    const p = '+15557770002';
    s.emu.control.createUser({ phone: p, firstName: 'Late' });
    const r = await s.call('POST', '/api/telegram/request-code', { agent_id: 2, phone: p });
    const code = s.emu.control.lastCode(p)!.code;
    await sleep(2600);
    const v = await s.call('POST', '/api/telegram/verify-code', {
      session_id: r.json.session_id,
      code,
    });
    expect(v.status).toBe(410);
    expect(v.json).toMatchObject({ success: false, code: 'PHONE_CODE_EXPIRED' });
  });

  it('a flow expires after its lifetime: status expired, secrets removed, further steps 410', async () => {
    const p = '+15557770003';
    short.emu.control.createUser({ phone: p, firstName: 'Slow' });
    const r = await short.call('POST', '/api/telegram/request-code', { agent_id: 3, phone: p });
    expect(r.json.expires_in as number).toBeLessThanOrEqual(3);
    const sessionId = r.json.session_id as string;
    const db = await mongoose.createConnection(short.authEnv.mongoUrl).asPromise();
    try {
      const doc = await waitFor(
        async () => {
          const d = await db.collection('sessions').findOne({ _id: sessionId as never });
          return d?.status === 'expired' ? d : undefined;
        },
        10_000,
        'sweeper',
      );
      expect(doc.login).toBeUndefined();
      expect(short.auths[0]!.logins.liveClients).toBe(0);
    } finally {
      await db.close();
    }
    const code = short.emu.control.lastCode(p)!.code;
    const v = await short.call('POST', '/api/telegram/verify-code', {
      session_id: sessionId,
      code,
    });
    expect(v.status).toBe(410);
    expect(v.json.code).toBe('FLOW_EXPIRED');
    const st = await short.call('GET', `/api/telegram/status/${sessionId}`);
    expect(st.json).toMatchObject({ connected: false, status: 'expired' });
  });
});
