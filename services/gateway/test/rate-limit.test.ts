/**
 * Per-key rate limiting (@fastify/rate-limit): each API key has its own
 * window; past RATE_LIMIT_MAX requests it gets 429 in seed 000's error shape
 * with Retry-After, while other keys and public routes are unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

let s: Stack;

beforeAll(async () => {
  s = await startStack('ratelimit', {
    gatewayEnv: { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' },
  });
});

afterAll(async () => {
  await s?.stop();
});

describe('per-key rate limiting', () => {
  it('answers 429 with Retry-After past the limit of one key; other keys and /healthz go on', async () => {
    const created = await s.call('POST', '/api/admin/api-keys', { tenant_id: 'rl', name: 'crm' });
    expect(created.status).toBe(201);
    const key = created.json.api_key as string;

    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push(
        (await s.call('GET', '/api/telegram/sessions?agent_id=1', undefined, key)).status,
      );
    }
    expect(statuses.slice(0, 4).every((st) => st === 200)).toBe(true);
    const limited = await s.call('GET', '/api/telegram/sessions?agent_id=1', undefined, key);
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ success: false, code: 'RATE_LIMITED' });
    expect(typeof limited.json.error).toBe('string');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    // The admin key has a window of its own.
    const other = await s.call('GET', '/api/telegram/sessions?agent_id=1');
    expect(other.status).toBe(200);
    // Public routes are not limited.
    for (let i = 0; i < 8; i++) {
      expect((await s.call('GET', '/healthz', undefined, null)).status).toBe(200);
    }
  });
});
