/**
 * Structured JSON logging (pino) with secret redaction and trace correlation.
 *
 * Every line carries `service`, an ISO `time`, a string `level`, and — when
 * an OpenTelemetry span is active — `trace_id`, `span_id`, `trace_flags`.
 * Values under sensitive keys are replaced by `"[redacted]"` at the top
 * level and up to three levels deep (see {@link SENSITIVE_KEYS}); HTTP
 * `authorization`, `cookie` and `x-api-key` headers under `req.headers` /
 * `headers` likewise.
 *
 * Redaction is key-based: never put a secret inside a message string or
 * under an innocuous key.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, stdSerializers, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are always redacted, wherever they appear (depth 0-3). */
export const SENSITIVE_KEYS = [
  'apiKey',
  'api_key',
  'apiHash',
  'api_hash',
  'session',
  'sessionString',
  'session_string',
  'code',
  'phoneCode',
  'phone_code',
  'phoneCodeHash',
  'phone_code_hash',
  'password',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'authorization',
  'encryptionKey',
  'privateKey',
  'private_key',
  'srp',
] as const;

const HEADER_KEYS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'];

/** The pino redact paths derived from {@link SENSITIVE_KEYS} and header names. */
export function redactPaths(extraKeys: readonly string[] = []): string[] {
  const paths = new Set<string>();
  const prop = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`);
  for (const key of [...SENSITIVE_KEYS, ...extraKeys]) {
    const p = prop(key);
    paths.add(p.startsWith('.') ? p.slice(1) : p);
    paths.add(`*${p}`);
    paths.add(`*.*${p}`);
    paths.add(`*.*.*${p}`);
  }
  for (const h of HEADER_KEYS) {
    for (const base of ['req.headers', 'request.headers', 'headers', 'res.headers', '*.headers']) {
      paths.add(`${base}["${h}"]`);
    }
  }
  return [...paths];
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** `service` field of every line. */
  service: string;
  /** pino level (default `info`). */
  level?: string;
  /** Where lines go (default stdout, synchronous). Tests pass a stream. */
  destination?: DestinationStream;
  /** Additional keys to redact. */
  redactKeys?: readonly string[];
  /** Extra fields on every line. */
  base?: Record<string, unknown>;
}

/**
 * The OTel ids of the active span, or `{}` when there is none. Used as
 * pino's mixin; exported for other structured outputs.
 */
export function traceFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const ctx = trace.getActiveSpan()?.spanContext();
  if (!ctx || !isSpanContextValid(ctx)) return {};
  return {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    trace_flags: `0${ctx.traceFlags.toString(16)}`.slice(-2),
  };
}

/** pino's error serializer, with `code` renamed to `errorCode` so it survives redaction. */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  if ('code' in out) {
    out.errorCode = out.code;
    delete out.code;
  }
  return out;
}

/**
 * Creates the service's root logger. Use `logger.child({component})` for
 * parts. Errors go under `err` (pino's serializer: type, message, stack).
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, ...opts.base },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths(opts.redactKeys), censor: '[redacted]' },
      mixin: traceFields,
      // `code` is a redacted key (login codes); keep error codes visible as `errorCode`.
      serializers: { err: serializeError, error: serializeError },
    },
    opts.destination ?? pino.destination({ sync: true }),
  );
}
