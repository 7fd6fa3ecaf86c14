/**
 * Metric names used by the Grafana dashboard and the alert rules must be
 * exported by some service: each name (minus the histogram suffixes
 * `_bucket`, `_count`, `_sum`) has to occur in the sources of
 * `services/<x>/src` or `packages/platform/src`, either whole or as the
 * part after a `tgbridge_<service>_` prefix that the source builds from a
 * variable (`${p}live_sessions`). Node.js default metrics (`process_`,
 * `nodejs_`) and Prometheus' own (`up`) are always accepted.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const BUILTIN = /^(up|process_.*|nodejs_.*)$/;
const PROMQL_WORDS = new Set([
  'sum',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'max',
  'min',
  'avg',
  'count',
  'topk',
  'bottomk',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'clamp_min',
  'clamp_max',
  'abs',
  'time',
  'vector',
  'label_replace',
  'delta',
  'deriv',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'absent',
  'bool',
  'le',
  'changes',
  'resets',
]);

function sourceText(root: string): string {
  const dirs = [join(root, 'packages/platform/src')];
  for (const s of readdirSync(join(root, 'services'))) dirs.push(join(root, 'services', s, 'src'));
  const parts: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) parts.push(readFileSync(path, 'utf8'));
    }
  };
  dirs.forEach(walk);
  return parts.join('\n');
}

/** Metric names in a PromQL expression (identifiers followed by `{`, `[`, `)` or space, minus keywords and labels). */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]');
  const withoutGrouping = withoutStrings.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g,
    '',
  );
  const names = withoutGrouping.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? [];
  return [
    ...new Set(names.filter((n) => !PROMQL_WORDS.has(n) && !/^\d/.test(n) && /_|^up$/.test(n))),
  ];
}

/**
 * Checks `exprs` (label → PromQL) against the sources.
 * @returns one line per unknown metric
 */
export function checkMetricRefs(root: string, exprs: { label: string; expr: string }[]): string[] {
  const source = sourceText(root);
  const problems: string[] = [];
  const reported = new Set<string>();
  for (const { label, expr } of exprs) {
    for (const name of metricNames(expr)) {
      if (BUILTIN.test(name) || reported.has(`${label} ${name}`)) continue;
      reported.add(`${label} ${name}`);
      const base = name.replace(/_(bucket|count|sum)$/, '');
      const split = /^(tgbridge_[a-z]+_)(.+)$/.exec(base);
      const found =
        source.includes(base) ||
        (split !== null &&
          source.includes(split[1]!) &&
          new RegExp(`\\}${split[2]}\\b`).test(source));
      if (!found) problems.push(`${label}: metric ${name} is not exported by any service`);
    }
  }
  return problems;
}
