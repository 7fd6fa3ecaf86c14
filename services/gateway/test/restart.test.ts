/**
 * Resumability: the auth replica that started a phone login is restarted
 * between request-code and verify-code; the login still completes (the
 * flow's temporary auth key and phone_code_hash come back from MongoDB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@tgbridge/testinfra';
import { captureLogger, LogCapture, startAuth } from '../../auth/test/harness.js';
import { startStack, type Stack } from './stack.js';

describe('auth restart mid-login', () => {
  let s: Stack;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    s = await startStack('gwrestart', {
      ports: [port],
      gatewayEnv: { AUTH_GRPC_TIMEOUT_MS: '3000' },
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('auth replica restarted between request-code and verify-code → login still completes', async () => {
    const p = '+15558880001';
    const user = s.emu.control.createUser({ phone: p, firstName: 'Phoenix' });
    const r = await s.call('POST', '/api/telegram/request-code', { agent_id: 42, phone: p });
    expect(r.status).toBe(200);
    const keysBefore = s.emu.control.authKeys().map((k) => k.id);
    await s.auths[0]!.stop();
    const down = await s.call('GET', `/api/telegram/status/${r.json.session_id}`);
    expect(down.status).toBe(503);
    expect(down.json.code).toBe('AUTH_UNAVAILABLE');
    s.auths[0] = await startAuth(
      s.emu,
      { ...s.authEnv, port },
      captureLogger(new LogCapture(), 'auth-restarted'),
    );
    const code = s.emu.control.lastCode(p)!.code;
    const v = await s.call('POST', '/api/telegram/verify-code', {
      session_id: r.json.session_id,
      code,
    });
    expect(v.status, JSON.stringify(v.json)).toBe(200);
    expect(v.json).toMatchObject({ connected: true, user_id: user.id });
    // The same temporary auth key was reused (phone_code_hash is bound to it).
    const userKeys = s.emu.control.authKeys(user.id).map((k) => k.id);
    expect(userKeys).toHaveLength(1);
    expect(keysBefore).toContain(userKeys[0]);
  });
});
