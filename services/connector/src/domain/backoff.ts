/**
 * Exponential backoff with "full jitter" for reconnects
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */

/**
 * Delay in ms before reconnect attempt `attempt` (0-based): a random value in
 * [cap/2, cap] where cap = min(maxMs, baseMs * 2^attempt). Half of it is
 * fixed so a flapping link never reconnects in a tight loop.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}
