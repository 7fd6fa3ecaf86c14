import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectMongo } from '../src/mongo.js';
import { connectNats } from '../src/nats.js';
import { freePort } from '@tgbridge/testinfra';

const child = fileURLToPath(new URL('./fixtures/config-child.ts', import.meta.url));

function runChild(env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(NATS_URL|MONGO_URL|SESSION_|LOG_LEVEL|METRICS_PORT)/.test(k),
    ),
  );
  return spawnSync(process.execPath, ['--import', 'tsx', child], {
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
}

describe('bad input at start', () => {
  it('bad env: one line per problem, exit 78, no stack trace, no secret', () => {
    const short = randomBytes(8).toString('base64');
    const r = runChild({
      NATS_URL: 'localhost:4222',
      METRICS_PORT: 'abc',
      SESSION_ENCRYPTION_KEYS: `k1:${short}`,
    });
    expect(r.status).toBe(78);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      'child: invalid configuration (3 problems):',
      'child: NATS_URL: expected a URL with scheme nats: or tls: or ws: or wss:, got "localhost:4222"',
      'child: METRICS_PORT: expected a port number (0-65535), got "abc"',
      'child: SESSION_ENCRYPTION_KEYS: key "k1" is 8 bytes, expected exactly 32 (generate one with: openssl rand -base64 32)',
    ]);
    expect(r.stderr).not.toContain(short);
    expect(r.stdout).not.toContain('started');
  });

  it('unreachable NATS: one line naming the URL, exit 1', async () => {
    const port = await freePort();
    const r = runChild({
      NATS_URL: `nats://user:pw@127.0.0.1:${port}`,
      SESSION_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^child: NATS_UNREACHABLE: cannot connect to NATS at nats://\\*\\*\\*@127\\.0\\.0\\.1:${port}: .+$`,
      ),
    );
    expect(r.stderr).not.toContain('pw@');
  });

  it('connectNats / connectMongo give up with stable codes', async () => {
    const port = await freePort();
    await expect(
      connectNats({ url: `nats://127.0.0.1:${port}`, name: 't', startupTimeoutMs: 600 }),
    ).rejects.toMatchObject({
      code: 'NATS_UNREACHABLE',
    });
    const err = await connectMongo({
      url: `mongodb://127.0.0.1:${port}/x`,
      retries: 1,
      retryDelayMs: 50,
      serverSelectionTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MONGO_UNREACHABLE' });
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot connect to MongoDB at mongodb://127.0.0.1:${port}/x after 2 attempts: `),
    );
  });
});
