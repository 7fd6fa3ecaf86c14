/**
 * Classification of one HTTP attempt's result (issue "Delivery semantics"):
 * 2xx → delivered; 410 Gone → endpoint disabled; header
 * `webhook-delivery: abort-message` → the receiver stops retries of this
 * message; everything else (3xx: redirects are never followed, 4xx, 5xx,
 * timeouts, network errors, refused targets) → retry per schedule, with
 * 429/502/503/504 and `Retry-After` slowing down.
 */

/** What the delivery engine does next. */
export type Verdict = 'delivered' | 'retry' | 'gone' | 'abort';

/** Raw result of one attempt. */
export interface AttemptResult {
  /** HTTP status, or undefined when no response arrived. */
  statusCode?: number;
  /** Response headers (lower-case names) when a response arrived. */
  headers?: Record<string, string | string[] | undefined>;
  /** Transport error text (timeout, refused, SSRF, ...). */
  error?: string;
  /** First 1 KiB of the response body. */
  responseBody?: string;
  /** Wall time of the attempt, ms. */
  latencyMs: number;
}

function header(r: AttemptResult, name: string): string | undefined {
  const v = r.headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Decides what to do with an attempt's result. */
export function classify(r: AttemptResult): Verdict {
  const s = r.statusCode;
  if (s !== undefined && s >= 200 && s < 300) return 'delivered';
  if (s === 410) return 'gone';
  if (s !== undefined && header(r, 'webhook-delivery')?.trim().toLowerCase() === 'abort-message') {
    return 'abort';
  }
  return 'retry';
}

/** True when the receiver asked to slow down (429/502/503/504). */
export function isSlowDown(r: AttemptResult): boolean {
  return (
    r.statusCode === 429 || r.statusCode === 502 || r.statusCode === 503 || r.statusCode === 504
  );
}

/** The `Retry-After` header value, if any. */
export function retryAfterHeader(r: AttemptResult): string | undefined {
  return header(r, 'retry-after');
}

/** A short error text for logs and the attempt log (never a body). */
export function describe(r: AttemptResult): string | undefined {
  if (r.error) return r.error;
  const s = r.statusCode;
  if (s === undefined || (s >= 200 && s < 300)) return undefined;
  if (s >= 300 && s < 400) return `HTTP ${s} (redirects are not followed)`;
  return `HTTP ${s}`;
}
