import { describe, expect, it } from 'vitest';
import { eventLoopCheck, HealthRegistry } from '../src/health.js';
import { createRegistry, startMetricsServer } from '../src/metrics.js';

describe('HealthRegistry', () => {
  it('reports each check with latency; a hanging check times out; a throwing one fails', async () => {
    const health = new HealthRegistry({ timeoutMs: 100 })
      .add('fast', async () => {})
      .add('slow', () => new Promise((r) => setTimeout(r, 5000)))
      .add('broken', () => {
        throw new Error('db down');
      })
      .add('loop', eventLoopCheck(), { liveness: true });
    const started = Date.now();
    const ready = await health.readiness();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ready.status).toBe('fail');
    expect(ready.checks.fast).toMatchObject({ ok: true });
    expect(ready.checks.slow).toMatchObject({ ok: false, error: 'timed out after 100 ms' });
    expect(ready.checks.slow!.latencyMs).toBeGreaterThanOrEqual(90);
    expect(ready.checks.broken).toMatchObject({ ok: false, error: 'db down' });

    const live = await health.liveness();
    expect(live).toMatchObject({ status: 'ok', checks: { loop: { ok: true } } });
    expect(Object.keys(live.checks)).toEqual(['loop']);
  });

  it('is ok with no checks and fails readiness once shutting down', async () => {
    const health = new HealthRegistry();
    expect((await health.readiness()).status).toBe('ok');
    health.setShuttingDown();
    expect(await health.readiness()).toMatchObject({
      status: 'fail',
      checks: { shutdown: { ok: false } },
    });
    expect((await health.liveness()).status).toBe('ok');
  });
});

describe('metrics server', () => {
  it('serves /metrics with the service label, /healthz and /readyz', async () => {
    const registry = createRegistry('notifier');
    const health = new HealthRegistry().add('dep', () => {
      throw new Error('down');
    });
    const server = await startMetricsServer(0, registry, health, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('process_cpu_user_seconds_total{service="notifier"}');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'fail',
        checks: { dep: { ok: false, error: 'down' } },
      });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
