/**
 * Retry schedule: exponential backoff with jitter. The schedule is a list of
 * delays before each attempt (default, like Svix: immediately, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts); its length is the number
 * of attempts. A receiver's `Retry-After` (on 429/503, or 502/504 "slow
 * down") lengthens the next delay, never shortens it, capped at 24 h.
 */

/** Max honoured Retry-After, ms. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * Delay before the attempt following `attemptsMade` attempts, or undefined
 * when the schedule is exhausted (dead letter).
 *
 * @param schedule delays in ms before attempt 1..n (attempt 1 uses index 0)
 * @param attemptsMade attempts already made (≥ 1 after a failure)
 * @param jitter fraction (0.2 → each delay is multiplied by a factor in [0.8, 1.2])
 * @param retryAfterMs the receiver's Retry-After, ms, if any
 * @param random injectable for tests (0..1)
 */
export function nextDelayMs(
  schedule: readonly number[],
  attemptsMade: number,
  jitter: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  if (attemptsMade >= schedule.length) return undefined;
  const base = schedule[attemptsMade]!;
  const jittered = Math.round(base * (1 - jitter + 2 * jitter * random()));
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return Math.max(jittered, floor);
}

/**
 * Parses a `Retry-After` header (delta-seconds or HTTP date) into ms from
 * `now`; undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
