import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderMetricsDoc } from '../scripts/gen-metrics-doc.js';

describe('docs/metrics.md', () => {
  it('lists exactly the metrics the services define (regenerate: npx tsx scripts/gen-metrics-doc.ts)', () => {
    expect(readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8')).toBe(
      renderMetricsDoc(),
    );
  });

  it('every service has metrics and every metric carries the tgbridge_ prefix', () => {
    const doc = renderMetricsDoc();
    for (const service of ['gateway', 'auth', 'connector', 'notifier']) {
      expect(doc).toContain(`## ${service}`);
    }
    const names = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n.startsWith('tgbridge_'))).toEqual([]);
  });
});
