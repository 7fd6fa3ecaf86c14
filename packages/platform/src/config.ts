/**
 * Environment configuration: zod schemas of env variables, parsed once at
 * start. Every problem is reported at once, one line each
 * (`NATS_URL: expected a URL (nats:, tls:), got "foo"`); values of secret
 * fields are never echoed.
 *
 * Conventions: an empty variable (`FOO=`) counts as unset. Field helpers
 * take `{ default }` (a typed default) or `{ optional: true }` (value may be
 * undefined); otherwise the variable is required.
 *
 * @example
 *   const schema = baseConfigSchema.extend({ HTTP_PORT: port({ default: 8080 }) });
 *   const config = loadConfig(schema); // throws ConfigError
 */
import { z } from 'zod';
import { parseKeySpec } from './crypto.js';
import { AppError, ConfigError } from './errors.js';

export { ConfigError } from './errors.js';

/** Options every field helper accepts. */
export interface FieldOptions<T> {
  /** Used when the variable is unset or empty. */
  default?: T;
  /** When true an unset variable yields `undefined` instead of a problem. */
  optional?: boolean;
}

/** Output type of a field: `T`, or `T | undefined` with `{optional: true}` and no default. */
export type FieldOutput<T, O> = O extends { optional: true }
  ? O extends { default: T }
    ? T
    : T | undefined
  : T;

/** Result of a field parser: a value or a one-line problem (without the variable name). */
export type ParseResult<T> = { ok: true; value: T } | ParseProblem;

/** A failed parse. */
export interface ParseProblem {
  ok: false;
  problem: string;
}

const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
const bad = (problem: string): ParseProblem => ({ ok: false, problem });

/** Quotes a (non-secret) value for a problem line, with URL credentials removed and length capped. */
export function quote(raw: string): string {
  const cleaned = raw.replace(/\/\/[^@/\s]*@/, '//***@');
  return JSON.stringify(cleaned.length > 80 ? `${cleaned.slice(0, 77)}...` : cleaned);
}

/**
 * Builds a field schema from a parser over the raw string. This is how all
 * helpers below are made; use it for custom fields.
 */
export function field<T, O extends FieldOptions<T>>(
  parse: (raw: string) => ParseResult<T>,
  opts?: O,
): z.ZodType<FieldOutput<T, O>, string | undefined> {
  const schema = z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') {
        if (opts?.default !== undefined) return opts.default;
        if (opts?.optional) return undefined;
        ctx.addIssue({ code: 'custom', message: 'required but not set' });
        return z.NEVER;
      }
      const result = parse(raw);
      if (!result.ok) {
        ctx.addIssue({ code: 'custom', message: result.problem });
        return z.NEVER;
      }
      return result.value;
    });
  return schema as unknown as z.ZodType<FieldOutput<T, O>, string | undefined>;
}

/** A plain string. */
export function str<O extends FieldOptions<string>>(opts?: O) {
  return field((raw) => ok(raw), opts);
}

/** TCP port 1..65535 (0 allowed with `allowZero`: "pick a free port"). */
export function port<O extends FieldOptions<number> & { allowZero?: boolean }>(opts?: O) {
  return field((raw) => {
    const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    const min = opts?.allowZero ? 0 : 1;
    return Number.isInteger(n) && n >= min && n <= 65535
      ? ok(n)
      : bad(`expected a port number (${min}-65535), got ${quote(raw)}`);
  }, opts);
}

/** Integer within optional bounds. */
export function int<O extends FieldOptions<number> & { min?: number; max?: number }>(opts?: O) {
  return field((raw) => {
    const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n)) return bad(`expected an integer, got ${quote(raw)}`);
    if (opts?.min !== undefined && n < opts.min)
      return bad(`expected an integer >= ${opts.min}, got ${quote(raw)}`);
    if (opts?.max !== undefined && n > opts.max)
      return bad(`expected an integer <= ${opts.max}, got ${quote(raw)}`);
    return ok(n);
  }, opts);
}

/**
 * Absolute URL. `protocols` restricts the scheme (e.g. `['nats:', 'tls:']`).
 * Output is the string as given (not normalised). Credentials in a bad
 * value are masked in the problem line.
 */
export function url<O extends FieldOptions<string> & { protocols?: string[] }>(opts?: O) {
  return field((raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      return bad(
        `expected a URL${opts?.protocols ? ` (${opts.protocols.join(', ')})` : ''}, got ${quote(raw)}`,
      );
    }
    if (opts?.protocols && !opts.protocols.includes(parsed.protocol)) {
      return bad(`expected a URL with scheme ${opts.protocols.join(' or ')}, got ${quote(raw)}`);
    }
    return ok(raw);
  }, opts);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `1500`, `1500ms`, `30s`, `5m`, `1h` (also `1.5s`) into milliseconds. */
export function parseDurationMs(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** Duration in milliseconds; accepts a bare number (ms) or `ms`/`s`/`m`/`h` suffixes. */
export function durationMs<O extends FieldOptions<number>>(opts?: O) {
  return field((raw) => {
    const ms = parseDurationMs(raw);
    return ms === undefined
      ? bad(`expected a duration in ms or with a unit (500ms, 30s, 5m, 1h), got ${quote(raw)}`)
      : ok(ms);
  }, opts);
}

/** Boolean from `true/false/1/0/yes/no` (case-insensitive). */
export function bool<O extends FieldOptions<boolean>>(opts?: O) {
  return field((raw) => {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return ok(true);
    if (['false', '0', 'no'].includes(v)) return ok(false);
    return bad(`expected true/false/1/0, got ${quote(raw)}`);
  }, opts);
}

/** Comma-separated list, items trimmed, empty items dropped. */
export function list<O extends FieldOptions<string[]>>(opts?: O) {
  return field(
    (raw) =>
      ok(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    opts,
  );
}

/** One of a fixed set of strings. */
export function oneOf<const V extends string, O extends FieldOptions<V>>(
  values: readonly V[],
  opts?: O,
) {
  return field(
    (raw) =>
      (values as readonly string[]).includes(raw)
        ? ok(raw as V)
        : bad(`expected one of ${values.join(', ')}, got ${quote(raw)}`),
    opts,
  );
}

/**
 * A secret string (token, password, key). Problems never include the value,
 * only its length.
 */
export function secret<O extends FieldOptions<string> & { minLength?: number }>(opts?: O) {
  return field((raw) => {
    const min = opts?.minLength ?? 1;
    return raw.length >= min
      ? ok(raw)
      : bad(`must be at least ${min} characters (got ${raw.length}; value not shown)`);
  }, opts);
}

/**
 * Session-encryption keyring spec `kid1:base64key,kid2:base64key`, each key
 * exactly 32 bytes. Treated as a secret: problems name key ids, never key
 * material.
 */
export function keyringSpec<O extends FieldOptions<string>>(opts?: O) {
  return field((raw) => {
    const { problems } = parseKeySpec(raw);
    return problems.length === 0 ? ok(raw) : bad(problems.join('; '));
  }, opts);
}

/** pino levels accepted by LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Variables every service reads. Services `.extend()` it (and may override
 * SERVICE_NAME's default). See `.env.example` for meanings.
 */
export const baseConfigSchema = z.object({
  SERVICE_NAME: str({ default: 'tgbridge' }),
  LOG_LEVEL: oneOf(LOG_LEVELS, { default: 'info' }),
  NATS_URL: url({ protocols: ['nats:', 'tls:', 'ws:', 'wss:'], default: 'nats://127.0.0.1:4222' }),
  MONGO_URL: url({
    protocols: ['mongodb:', 'mongodb+srv:'],
    default: 'mongodb://127.0.0.1:27017/tgbridge',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: url({ protocols: ['http:', 'https:'], optional: true }),
  METRICS_PORT: port({ default: 9464, allowZero: true }),
  SHUTDOWN_TIMEOUT_MS: durationMs({ default: 10_000 }),
  SESSION_ENCRYPTION_KEYS: keyringSpec(),
  SESSION_ENCRYPTION_ACTIVE_KEY_ID: str({ optional: true }),
});

/** Parsed base configuration. */
export type BaseConfig = z.output<typeof baseConfigSchema>;

/**
 * Parses `env` (default `process.env`) with `schema`.
 *
 * Only the schema's keys are read; empty values count as unset. Cross-field
 * check: when the schema has both SESSION_ENCRYPTION_KEYS and
 * SESSION_ENCRYPTION_ACTIVE_KEY_ID, the active id must be one of the keys.
 *
 * @returns the typed config
 * @throws ConfigError listing every problem, one line each (`NAME: problem`)
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = issue.path.map(String).join('.') || '(config)';
      const message =
        issue.code === 'invalid_type' && input[name] === undefined
          ? 'required but not set'
          : issue.message;
      problems.push(`${name}: ${message}`);
    }
  }
  const shape = schema.shape as Record<string, unknown>;
  if ('SESSION_ENCRYPTION_KEYS' in shape && 'SESSION_ENCRYPTION_ACTIVE_KEY_ID' in shape) {
    const spec = input.SESSION_ENCRYPTION_KEYS;
    const active = input.SESSION_ENCRYPTION_ACTIVE_KEY_ID;
    if (spec !== undefined && active !== undefined) {
      const { keys, problems: keyProblems } = parseKeySpec(spec);
      if (keyProblems.length === 0 && !keys.has(active)) {
        problems.push(
          `SESSION_ENCRYPTION_ACTIVE_KEY_ID: ${quote(active)} is not one of the key ids in SESSION_ENCRYPTION_KEYS (${[...keys.keys()].join(', ')})`,
        );
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/**
 * For `main.ts`: prints a startup failure as plain lines on stderr (no
 * stack trace unless `DEBUG` is set) and exits. ConfigError → each problem
 * on its own line, exit code 78 (EX_CONFIG); AppError → `CODE: message`,
 * exit 1; anything else → its message, exit 1.
 *
 * @param service prefix for the lines, e.g. `auth`
 */
export function exitOnConfigError(
  err: unknown,
  service = process.env.SERVICE_NAME ?? 'tgbridge',
): never {
  if (err instanceof ConfigError) {
    console.error(
      `${service}: invalid configuration (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):`,
    );
    for (const problem of err.problems) console.error(`${service}: ${problem}`);
    process.exit(78);
  }
  if (err instanceof AppError) console.error(`${service}: ${err.code}: ${err.message}`);
  else
    console.error(
      `${service}: startup failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  if (process.env.DEBUG && err instanceof Error && err.stack) console.error(err.stack);
  process.exit(1);
}

/** Alias of {@link exitOnConfigError} for any startup failure (unreachable NATS/MongoDB, ...). */
export const exitOnStartupError = exitOnConfigError;
