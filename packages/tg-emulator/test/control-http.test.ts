/* eslint-disable @typescript-eslint/no-explicit-any -- JSON responses in assertions */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NewMessage, type NewMessageEvent } from 'telegram/events/index.js';
import { startEmulator, type RunningEmulator } from '../src/index.js';
import { closeAll, login, waitFor } from './helpers.js';

describe('control HTTP API', () => {
  let emu: RunningEmulator;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: any }> => {
    const res = await fetch(emu.controlUrl + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };
  beforeAll(async () => {
    emu = await startEmulator({ controlPort: 0 });
  });
  afterAll(async () => emu?.stop());

  it('rejects bad input with 400 and {error:{code,message}}', async () => {
    let r = await call('POST', '/users', '{not json');
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('BAD_JSON');
    r = await call('POST', '/users', { phone: 'abc', firstName: 'X' });
    expect(r).toMatchObject({ status: 400, json: { error: { code: 'PHONE_NUMBER_INVALID' } } });
    r = await call('POST', '/users', { firstName: 'X' });
    expect(r).toMatchObject({ status: 400, json: { error: { code: 'BAD_REQUEST' } } });
    r = await call('POST', '/messages', { from: 'nobody', to: 'user:nobody', text: 'x' });
    expect(r).toMatchObject({ status: 404, json: { error: { code: 'USER_NOT_FOUND' } } });
    r = await call('POST', '/faults', { kind: 'flood_wait', seconds: -1 });
    expect(r).toMatchObject({ status: 400, json: { error: { code: 'BAD_REQUEST' } } });
    r = await call('POST', '/login-tokens/accept', { token: 'AAAA', user: 1 });
    expect(r.status).toBe(404);
    r = await call('GET', '/nope');
    expect(r.status).toBe(404);
    r = await call('DELETE', '/users');
    expect(r.status).toBe(405);
    r = await call('POST', '/server/latency', { ms: 'fast' });
    expect(r).toMatchObject({ status: 400, json: { error: { code: 'BAD_REQUEST' } } });
  });

  it('creates users, reads the login code, sends a message a GramJS client receives, lists sends and counters', async () => {
    let r = await call('POST', '/users', {
      phone: '+15556001',
      firstName: 'Http',
      username: 'http_user',
    });
    expect(r.status).toBe(200);
    const id = r.json.id as number;
    r = await call('POST', '/users', { phone: '+15556002', firstName: 'Other' });
    expect(r.status).toBe(200);
    r = await call('POST', '/users', { phone: '+15556002', firstName: 'Dup' });
    expect(r).toMatchObject({ status: 400, json: { error: { code: 'PHONE_NUMBER_OCCUPIED' } } });
    const c = await login(emu, '+15556001');
    try {
      r = await call('GET', '/codes/+15556001');
      expect(r.json.code).toMatch(/^\d{5}$/);
      const got: NewMessageEvent[] = [];
      c.addEventHandler((e: NewMessageEvent) => void got.push(e), new NewMessage({}));
      r = await call('POST', '/messages', {
        from: '+15556002',
        to: { user: id },
        text: 'over http',
      });
      expect(r.status).toBe(200);
      await waitFor(() => got.some((e) => e.message.message === 'over http'), 5000, 'http message');
      await c.sendMessage('me', { message: 'note to self' });
      r = await call('GET', `/users/${id}/sent`);
      expect(r.json.map((m: { text: string }) => m.text)).toEqual(['note to self']);
      r = await call('GET', '/users/+15556001/auth-keys');
      expect(r.json).toHaveLength(1);
      r = await call('GET', '/connections');
      expect(r.json.some((x: { userId?: number }) => x.userId === id)).toBe(true);
      r = await call('GET', '/counters');
      expect(r.json.api.messagesSent).toBeGreaterThanOrEqual(1);
      expect(r.json.connectionsAccepted).toBeGreaterThanOrEqual(1);
      r = await call('POST', `/auth-keys/${emu.control.authKeys(id)[0]!.id}/revoke`);
      expect(r.status).toBe(200);
      await expect(c.getMe()).rejects.toMatchObject({ errorMessage: 'SESSION_REVOKED' });
    } finally {
      await closeAll(c);
    }
  });
});
