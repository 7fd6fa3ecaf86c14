/**
 * Deployment files validate offline (scripts/validate-deploy.ts): the
 * Dockerfile, docker-compose.yml, the kustomize overlays, the Grafana
 * dashboard and the alert rules. The first run builds the pinned kustomize
 * with Go into ~/.cache/tgbridge/bin (about a minute), later runs take a few
 * seconds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  composeSchemaValidator,
  parseComposeYaml,
  schemaProblems,
} from '../scripts/deploy-validation/compose.js';
import { validateObject } from '../scripts/deploy-validation/k8s.js';
import { metricNames } from '../scripts/deploy-validation/metrics-refs.js';
import { runCheck } from '../scripts/validate-deploy.js';

const root = new URL('..', import.meta.url).pathname;

describe('deployment files', () => {
  it('Dockerfile has a target per service', async () => {
    expect(await runCheck('dockerfile', root)).toEqual([]);
  });

  it('docker-compose.yml matches the Compose schema and the services’ config schemas', async () => {
    expect(await runCheck('compose', root)).toEqual([]);
  });

  it('dashboard and alert rules use metrics the services export', async () => {
    expect(await runCheck('metrics', root)).toEqual([]);
  });

  it('kustomize overlays render and validate', { timeout: 600_000 }, async () => {
    expect(await runCheck('kubernetes', root)).toEqual([]);
  });
});

describe('the validators catch mistakes', () => {
  it('rejects an invalid compose file', () => {
    const validate = composeSchemaValidator(root);
    const doc = parseComposeYaml(readFileSync(`${root}/docker-compose.yml`, 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
    };
    doc.services.gateway!.depends_on = { auth: { condition: 'service_ready' } };
    doc.services.gateway!.helthcheck = {};
    const problems = schemaProblems(validate, doc, 'mutated');
    expect(problems.join('\n')).toMatch(/condition/);
    expect(problems.join('\n')).toMatch(/helthcheck/);
  });

  it('rejects an invalid Deployment', async () => {
    const problems = await validateObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        selector: {},
        template: { spec: { containers: [{ name: 'x', ports: [{ containerPort: 'http' }] }] } },
      },
    });
    expect(problems.join('\n')).toMatch(/containerPort must be integer/);
  });

  it('finds metric names in PromQL', () => {
    expect(
      metricNames(
        'sum by (le) (rate(tgbridge_gateway_http_request_duration_seconds_bucket{job="gateway"}[$__rate_interval]))',
      ),
    ).toEqual(['tgbridge_gateway_http_request_duration_seconds_bucket']);
  });
});
