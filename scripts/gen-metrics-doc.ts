/**
 * Writes docs/metrics.md from the services' own metric definitions: each
 * service's metrics factory registers its metrics on a fresh prom-client
 * registry and the table lists name, type, labels and help text. With
 * `--check` it exits 1 when docs/metrics.md differs (CI, test/metrics-doc.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { createAuthMetrics } from '../services/auth/src/metrics.js';
import { createMetrics as createConnectorMetrics } from '../services/connector/src/metrics.js';
import { createGatewayMetrics } from '../services/gateway/src/metrics.js';
import { createNotifierMetrics } from '../services/notifier/src/metrics.js';

const DOC = new URL('../docs/metrics.md', import.meta.url);

interface MetricShape {
  name: string;
  help: string;
  type: string;
  labelNames?: readonly string[];
}

function registryOf(make: (r: Registry) => unknown): Registry {
  const registry = new Registry();
  make(registry);
  return registry;
}

/** The services, where their metrics are served, and their registries. */
function services(): Array<{ name: string; served: string; registry: Registry }> {
  return [
    {
      name: 'gateway',
      served: '`/metrics` on `HTTP_PORT`',
      registry: registryOf(createGatewayMetrics),
    },
    {
      name: 'auth',
      served: '`/metrics` on `METRICS_PORT`',
      registry: registryOf(createAuthMetrics),
    },
    {
      name: 'connector',
      served: '`/metrics` on `METRICS_PORT` (label `shard`)',
      registry: createConnectorMetrics('shard').registry,
    },
    {
      name: 'notifier',
      served: '`/metrics` on `METRICS_PORT`',
      registry: registryOf(createNotifierMetrics),
    },
  ];
}

const isDefaultMetric = (name: string) => /(^|_)(process|nodejs)_/.test(name);

/** Renders docs/metrics.md. */
export function renderMetricsDoc(): string {
  const lines = [
    '# Metrics',
    '',
    'Every service exposes Prometheus metrics (prom-client). Besides the metrics',
    "below, each registry carries prom-client's default Node.js process metrics",
    '(`process_*`, `nodejs_*`; prefixed `tgbridge_connector_` on the connector) and',
    'the label `service` (the connector: `shard`). Grafana: `deploy/grafana/`,',
    'alert rules: `deploy/prometheus/rules/`.',
    '',
    "Generated from the services' metric definitions by `npx tsx scripts/gen-metrics-doc.ts`;",
    'a test fails when this page and the code disagree.',
  ];
  for (const s of services()) {
    lines.push(
      '',
      `## ${s.name}`,
      '',
      `Served: ${s.served}.`,
      '',
      '| metric | type | labels | meaning |',
      '| --- | --- | --- | --- |',
    );
    const metrics = s.registry.getMetricsAsArray() as unknown as MetricShape[];
    for (const m of metrics
      .filter((x) => !isDefaultMetric(x.name))
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const labels = (m.labelNames ?? []).map((l) => `\`${l}\``).join(', ') || '—';
      lines.push(`| \`${m.name}\` | ${m.type} | ${labels} | ${m.help.replace(/\|/g, '\\|')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const doc = renderMetricsDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(DOC, 'utf8') !== doc) {
      console.error('docs/metrics.md is stale: run npx tsx scripts/gen-metrics-doc.ts');
      process.exit(1);
    }
  } else {
    writeFileSync(DOC, doc);
    console.log('wrote docs/metrics.md');
  }
}
