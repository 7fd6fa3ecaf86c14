/**
 * Classification of Telegram errors (https://core.telegram.org/api/errors)
 * as the connector needs it.
 */

/** Errors after which a session is dead for good: mark expired, never retry. */
export const AUTH_ERRORS = new Set([
  'AUTH_KEY_UNREGISTERED',
  'AUTH_KEY_INVALID',
  'AUTH_KEY_PERM_EMPTY',
  'SESSION_REVOKED',
  'SESSION_EXPIRED',
  'USER_DEACTIVATED',
  'USER_DEACTIVATED_BAN',
]);

/** A Telegram request did not complete within the request timeout. */
export class RequestTimeoutError extends Error {
  constructor(method: string) {
    super(`${method} timed out`);
    this.name = 'RequestTimeoutError';
  }
}

/** The RPC error message of a GramJS error (`FLOOD_WAIT_30` → `FLOOD_WAIT`), if any. */
export function rpcErrorName(e: unknown): string | undefined {
  const msg = (e as { errorMessage?: unknown })?.errorMessage;
  return typeof msg === 'string' ? msg : undefined;
}

/** True for errors that end the session ({@link AUTH_ERRORS}). */
export function isAuthError(e: unknown): boolean {
  const name = rpcErrorName(e);
  return name !== undefined && AUTH_ERRORS.has(name);
}

/** Seconds of a FLOOD_WAIT (or SLOWMODE_WAIT / FLOOD_PREMIUM_WAIT) error, else undefined. */
export function floodWaitSeconds(e: unknown): number | undefined {
  const s = (e as { seconds?: unknown })?.seconds;
  const code = (e as { code?: unknown })?.code;
  const name = rpcErrorName(e);
  // GramJS's FloodWaitError: code 420, errorMessage "FLOOD", seconds
  if (typeof s === 'number' && (code === 420 || (name !== undefined && /FLOOD|WAIT/.test(name))))
    return s;
  const m = name ? /^(?:FLOOD_WAIT|FLOOD_PREMIUM_WAIT|SLOWMODE_WAIT)_(\d+)$/.exec(name) : null;
  return m ? Number(m[1]) : undefined;
}
