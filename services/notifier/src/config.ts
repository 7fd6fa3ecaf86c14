/**
 * Notifier configuration: the platform base variables plus the events
 * intake, the delivery queue, the retry schedule, HTTP and SSRF settings and
 * the seed-000 default endpoint. See README "Configuration" and `.env.example`.
 */
import type { z } from 'zod';
import {
  baseConfigSchema,
  bool,
  durationMs,
  field,
  int,
  list,
  loadConfig,
  parseDurationMs,
  quote,
  secret,
  str,
  url,
} from '@tgbridge/platform/config';

/** Comma-separated durations (`0,5s,5m,30m,2h,5h,10h,10h`) → milliseconds. */
function durationList(opts: { default: number[] }) {
  return field((raw) => {
    const out: number[] = [];
    for (const part of raw.split(',').map((s) => s.trim())) {
      const ms = parseDurationMs(part);
      if (ms === undefined) {
        return {
          ok: false as const,
          problem: `expected durations like 0,5s,5m,2h, got ${quote(raw)}`,
        };
      }
      out.push(ms);
    }
    return out.length > 0
      ? { ok: true as const, value: out }
      : { ok: false as const, problem: 'expected at least one duration' };
  }, opts);
}

/** A Standard Webhooks secret `whsec_<base64>`; the value is never echoed. */
function whsec(opts: { optional: true }) {
  return field((raw) => {
    const m = /^whsec_([A-Za-z0-9+/=]+)$/.exec(raw);
    if (!m) return { ok: false as const, problem: 'expected whsec_<base64> (value not shown)' };
    const bytes = Buffer.from(m[1]!, 'base64').length;
    return bytes >= 24 && bytes <= 64
      ? { ok: true as const, value: raw }
      : { ok: false as const, problem: `key must be 24..64 bytes, got ${bytes} (value not shown)` };
  }, opts);
}

/** Default retry schedule (Svix-like): delays before attempts 1..8. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** zod schema of the notifier's environment. */
export const notifierConfigSchema = baseConfigSchema.extend({
  SERVICE_NAME: str({ default: 'notifier' }),
  EVENTS_STREAM: str({ default: 'TG_EVENTS' }),
  NOTIFIER_EVENTS_FILTER: str({ default: 'tg.evt.>' }),
  NOTIFIER_CONSUMER: str({ default: 'notifier' }),
  NOTIFIER_SUBJECT_PREFIX: field(
    (raw) =>
      /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(raw)
        ? { ok: true as const, value: raw }
        : {
            ok: false as const,
            problem: `expected a subject prefix like tg.notifier, got ${quote(raw)}`,
          },
    { default: 'tg.notifier' },
  ),
  NOTIFIER_ACK_WAIT_MS: durationMs({ default: 30_000 }),
  NOTIFIER_INTAKE_BATCH: int({ default: 200, min: 1, max: 1000 }),
  NOTIFIER_FAST_PATH_MS: durationMs({ default: 1000 }),
  DLQ_STREAM: str({ default: 'TG_DLQ' }),
  LARAVEL_BASE_URL: url({ protocols: ['http:', 'https:'], optional: true }),
  WEBHOOK_SECRET_TOKEN: secret({ optional: true }),
  WEBHOOK_SIGNING_SECRET: whsec({ optional: true }),
  WEBHOOK_RETRY_SCHEDULE: durationList({ default: DEFAULT_RETRY_SCHEDULE_MS }),
  WEBHOOK_JITTER: field(
    (raw) => {
      const n = Number(raw);
      return Number.isFinite(n) && n >= 0 && n <= 1
        ? { ok: true as const, value: n }
        : { ok: false as const, problem: `expected a fraction 0..1, got ${quote(raw)}` };
    },
    { default: 0.2 },
  ),
  WEBHOOK_TIMEOUT_MS: durationMs({ default: 15_000 }),
  WEBHOOK_ALLOW_HTTP: bool({ default: false }),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool({ default: false }),
  WEBHOOK_ALLOWED_CIDRS: list({ default: [] }),
  WEBHOOK_ENDPOINT_CONCURRENCY: int({ default: 32, min: 1, max: 1024 }),
  WEBHOOK_GLOBAL_CONCURRENCY: int({ default: 512, min: 1, max: 10_000 }),
  WEBHOOK_LANE_PARTITIONS: int({ default: 8, min: 1, max: 256 }),
  WEBHOOK_LANE_MEMORY: int({ default: 2000, min: 10, max: 1_000_000 }),
  WEBHOOK_LEASE_MS: durationMs({ default: 15_000 }),
  WEBHOOK_POLL_MS: durationMs({ default: 500 }),
  WEBHOOK_ROTATION_GRACE_MS: durationMs({ default: 86_400_000 }),
  WEBHOOK_DISABLE_AFTER_MS: durationMs({ default: 432_000_000 }),
  WEBHOOK_CIRCUIT_COOLDOWN_MS: durationMs({ default: 30_000 }),
  WEBHOOK_RETENTION_MS: durationMs({ default: 2_592_000_000 }),
  WEBHOOK_USER_AGENT: str({ default: 'tgbridge-webhooks/1.0' }),
});

/** Parsed notifier configuration (the schema's output). */
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;

/**
 * Reads the notifier configuration from `env`.
 * @throws ConfigError listing every problem
 */
export function loadNotifierConfig(
  env: Record<string, string | undefined> = process.env,
): NotifierConfig {
  return loadConfig(notifierConfigSchema, env);
}
