import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ShutdownRegistry } from '../src/lifecycle.js';

const child = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

/** Starts the fixture with tsx, waits for "ready", returns helpers. */
async function startChild(args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', () => {});
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
    let signalledAt = 0;
    proc.once('exit', (code) => resolve({ code, ms: Date.now() - signalledAt }));
    proc.on('signal-sent', () => (signalledAt = Date.now()));
  });
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('ready\n')) {
        clearInterval(t);
        resolve();
      }
    }, 20);
    proc.once('exit', () => reject(new Error(`child exited early: ${out}`)));
  });
  return {
    signal: (s: NodeJS.Signals) => {
      proc.emit('signal-sent');
      proc.kill(s);
    },
    exited,
    lines: () => out.trim().split('\n').slice(1),
  };
}

describe('installSignalHandlers (child process)', () => {
  it('SIGTERM runs hooks by order (same order concurrently) and exits 0', async () => {
    const c = await startChild(['ordered']);
    c.signal('SIGTERM');
    const { code } = await c.exited;
    expect(code).toBe(0);
    expect(c.lines()).toEqual(['intake:http', 'intake:consumers', 'drain:nats', 'close:mongo']);
  });

  it('SIGINT works the same way', async () => {
    const c = await startChild(['ordered']);
    c.signal('SIGINT');
    expect((await c.exited).code).toBe(0);
  });

  it('exits 1 when a hook fails, after running the rest', async () => {
    const c = await startChild(['fail']);
    c.signal('SIGTERM');
    expect((await c.exited).code).toBe(1);
    expect(c.lines()).toContain('close:mongo');
  });

  it('exits 1 when the deadline is hit', async () => {
    const c = await startChild(['hang', '300']);
    c.signal('SIGTERM');
    const { code, ms } = await c.exited;
    expect(code).toBe(1);
    expect(ms).toBeLessThan(5000);
    expect(c.lines()).not.toContain('close:mongo');
  });

  it('a second signal forces exit', async () => {
    const c = await startChild(['hang', '30000']);
    c.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    c.signal('SIGTERM');
    const { code, ms } = await c.exited;
    expect(code).toBe(130);
    expect(ms).toBeLessThan(5000);
  });
});

describe('ShutdownRegistry', () => {
  it('runs once, supports unregistering, reports failures', async () => {
    const reg = new ShutdownRegistry();
    const calls: string[] = [];
    reg.add(() => calls.push('a'), { order: 1 });
    const off = reg.add(() => calls.push('b'), { order: 0 });
    reg.add(
      () => {
        throw new Error('x');
      },
      { name: 'bad', order: 2 },
    );
    off();
    const [r1, r2] = await Promise.all([
      reg.run({ timeoutMs: 1000 }),
      reg.run({ timeoutMs: 1000 }),
    ]);
    expect(r1).toBe(r2);
    expect(calls).toEqual(['a']);
    expect(r1).toEqual({ ok: false, timedOut: false, failed: [{ name: 'bad', error: 'x' }] });
  });
});
