import { existsSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import {
  pidAlive,
  startMongo,
  startNats,
  uniqueDbUrl,
  uniqueName,
  waitForMongo,
  waitForNats,
} from '../src/index.js';

async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !pidAlive(pid);
}

describe('testinfra', () => {
  it('global setup provided reachable servers', async () => {
    await waitForNats(inject('natsUrl'), 5000);
    await waitForMongo(inject('mongoUrl'), 5000);
    expect(process.env.NATS_URL).toBe(inject('natsUrl'));
  });

  it('startNats without env reuse yields an independent server and stop() leaves no process', async () => {
    const a = await startNats({ reuseEnv: false });
    const b = await startNats({ reuseEnv: false });
    try {
      expect(a.url).not.toBe(inject('natsUrl'));
      expect(a.url).not.toBe(b.url);
      expect(a.pid).toBeTypeOf('number');
      await waitForNats(a.url, 5000);
      await waitForNats(b.url, 5000);
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(await gone(a.pid!)).toBe(true);
    expect(await gone(b.pid!)).toBe(true);
    expect(existsSync(a.dataDir!)).toBe(false);
    await a.stop(); // idempotent
  });

  it('startMongo without env reuse yields an independent server and stop() leaves no process', async () => {
    const m = await startMongo({ reuseEnv: false });
    try {
      expect(m.url).not.toBe(inject('mongoUrl'));
      await waitForMongo(m.url, 5000);
    } finally {
      await m.stop();
    }
    expect(await gone(m.pid!)).toBe(true);
    expect(existsSync(m.dataDir!)).toBe(false);
  });

  it('an unreachable NATS_URL fails with a clear message', async () => {
    const saved = process.env.NATS_URL;
    process.env.NATS_URL = 'nats://user:pw@127.0.0.1:1';
    try {
      const err = await startNats({ readyTimeoutMs: 1500 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/NATS_URL is set but unusable/);
      expect((err as Error).message).not.toContain('pw');
    } finally {
      process.env.NATS_URL = saved;
    }
  });

  it('unique names and database URLs', () => {
    expect(uniqueName('EV.x')).toMatch(/^EV_x_[0-9a-z]+$/);
    expect(uniqueName('a')).not.toBe(uniqueName('a'));
    expect(uniqueDbUrl('mongodb://127.0.0.1:1/?directConnection=true', 'sess')).toMatch(
      /^mongodb:\/\/127\.0\.0\.1:1\/sess_[0-9a-z]+\?directConnection=true$/,
    );
    expect(uniqueDbUrl('mongodb://u:p@h:1/old', 'x')).toMatch(/^mongodb:\/\/u:p@h:1\/x_[0-9a-z]+$/);
  });
});
