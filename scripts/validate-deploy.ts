/**
 * Offline validation of everything under deploy/ plus docker-compose.yml and
 * the Dockerfile; CI runs it through test/deploy.test.ts (`npm test`).
 *
 * Checks, each reported separately:
 * - `compose`: docker-compose.yml against the Compose Specification schema
 *   (vendored: deploy/schemas/compose-spec.json), raw and interpolated with
 *   deploy/compose/emulator.env; service environments against the services'
 *   config schemas; Dockerfile targets; Prometheus scrape targets.
 * - `kubernetes`: every overlay rendered with the pinned kustomize (built
 *   once with Go into ~/.cache/tgbridge/bin) and validated against the
 *   Kubernetes and Prometheus Operator schemas of the `kubernetes-models`
 *   packages, plus hardening, probes, resources, references and container
 *   environments.
 * - `metrics`: metric names in the Grafana dashboard and the alert rules
 *   exist in the services' sources.
 * - `dockerfile`: a target per service, each built by scripts/build.ts.
 *
 * Usage: `npx tsx scripts/validate-deploy.ts` — prints every problem, exits 1 if any.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkCompose, FLEET } from './deploy-validation/compose.js';
import { checkKubernetes } from './deploy-validation/k8s.js';
import { checkMetricRefs } from './deploy-validation/metrics-refs.js';

const root = join(import.meta.dirname, '..');

/** Name of a group of checks. */
export type CheckName = 'compose' | 'kubernetes' | 'metrics' | 'dockerfile';

/** PromQL of every dashboard panel target and alert rule, labelled by origin. */
export function promqlExpressions(repo = root): { label: string; expr: string }[] {
  const exprs: { label: string; expr: string }[] = [];
  const dashboard = JSON.parse(
    readFileSync(join(repo, 'deploy/grafana/tgbridge-dashboard.json'), 'utf8'),
  ) as {
    panels: { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }[];
  };
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      if (target.expr) exprs.push({ label: `dashboard panel "${panel.title}"`, expr: target.expr });
    }
  }
  const rules = parse(readFileSync(join(repo, 'deploy/prometheus/rules/tgbridge.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  for (const group of rules.groups) {
    for (const rule of group.rules)
      exprs.push({ label: `rule ${rule.alert ?? rule.record}`, expr: rule.expr });
  }
  return exprs;
}

/** Dockerfile: one target per service, and scripts/build.ts that builds them. */
export function checkDockerfile(repo = root): string[] {
  const text = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const problems: string[] = [];
  for (const service of FLEET) {
    if (!new RegExp(`^FROM\\s+runtime\\s+AS\\s+${service}$`, 'm').test(text))
      problems.push(`Dockerfile: no target ${service}`);
    if (!text.includes(`/app/services/${service}/dist/main.js`))
      problems.push(`Dockerfile: target ${service} does not run its bundle`);
  }
  if (!existsSync(join(repo, 'scripts/build.ts'))) problems.push('scripts/build.ts is missing');
  if (!existsSync(join(repo, '.dockerignore'))) problems.push('.dockerignore is missing');
  return problems;
}

/**
 * Runs one group of checks.
 * @returns one line per problem (empty: valid)
 */
export async function runCheck(name: CheckName, repo = root): Promise<string[]> {
  switch (name) {
    case 'compose':
      return checkCompose(repo);
    case 'kubernetes':
      return checkKubernetes(repo);
    case 'metrics':
      return checkMetricRefs(repo, promqlExpressions(repo));
    case 'dockerfile':
      return checkDockerfile(repo);
  }
}

if (import.meta.filename === process.argv[1]) {
  let failed = false;
  for (const name of ['dockerfile', 'compose', 'metrics', 'kubernetes'] as const) {
    const started = Date.now();
    const problems = await runCheck(name).catch((err: Error) => [err.message]);
    failed ||= problems.length > 0;
    console.log(
      `${name}: ${problems.length === 0 ? 'ok' : `${problems.length} problem(s)`} (${Date.now() - started} ms)`,
    );
    for (const p of problems) console.log(`  ${p}`);
  }
  process.exit(failed ? 1 : 0);
}
