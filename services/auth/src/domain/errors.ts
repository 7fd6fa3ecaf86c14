/**
 * Login failures with a stable LoginError reason (auth.proto), and the
 * mapping of Telegram (GramJS) errors onto them. Messages are English and
 * never contain codes, passwords, hashes or session strings.
 */
import { errors } from 'telegram';
import type { LoginErrorReason } from '@tgbridge/proto/login-error';

/** A failed login step; the gRPC layer turns it into a status + LoginError trailer. */
export class LoginFailure extends Error {
  constructor(
    readonly reason: LoginErrorReason,
    message: string,
    /** FLOOD_WAIT: seconds to wait. */
    readonly retryAfterSeconds = 0,
  ) {
    super(message);
    this.name = 'LoginFailure';
  }
}

/** Telegram error message → reason (https://core.telegram.org/api/errors). */
const TELEGRAM_REASONS: Record<string, LoginErrorReason> = {
  PHONE_CODE_INVALID: 'PHONE_CODE_INVALID',
  PHONE_CODE_EMPTY: 'PHONE_CODE_INVALID',
  PHONE_CODE_HASH_EMPTY: 'PHONE_CODE_INVALID',
  PHONE_CODE_EXPIRED: 'PHONE_CODE_EXPIRED',
  PASSWORD_HASH_INVALID: 'PASSWORD_HASH_INVALID',
  PHONE_NUMBER_INVALID: 'PHONE_NUMBER_INVALID',
  PHONE_NUMBER_UNOCCUPIED: 'PHONE_NUMBER_INVALID',
  PHONE_NUMBER_BANNED: 'PHONE_NUMBER_BANNED',
  USER_DEACTIVATED: 'PHONE_NUMBER_BANNED',
  USER_DEACTIVATED_BAN: 'PHONE_NUMBER_BANNED',
  AUTH_TOKEN_EXPIRED: 'AUTH_TOKEN_EXPIRED',
  AUTH_TOKEN_INVALID: 'AUTH_TOKEN_EXPIRED',
  API_ID_INVALID: 'API_ID_INVALID',
  API_ID_PUBLISHED_FLOOD: 'API_ID_INVALID',
  AUTH_KEY_UNREGISTERED: 'FLOW_EXPIRED',
  PHONE_NUMBER_FLOOD: 'FLOOD_WAIT',
};

/** The Telegram error name of `err` (`PHONE_CODE_INVALID`, `FLOOD_WAIT_42` → `FLOOD_WAIT`), if any. */
export function telegramErrorName(err: unknown): string | undefined {
  if (err instanceof errors.FloodWaitError) return 'FLOOD_WAIT';
  if (err instanceof errors.RPCError) return err.errorMessage.replace(/_\d+$/, '');
  return undefined;
}

/** Converts any error of a Telegram call into a LoginFailure (LoginFailures pass through). */
export function toLoginFailure(err: unknown): LoginFailure {
  if (err instanceof LoginFailure) return err;
  if (err instanceof errors.FloodWaitError) {
    return new LoginFailure('FLOOD_WAIT', 'Telegram asks to wait before retrying', err.seconds);
  }
  if (err instanceof errors.RPCError) {
    const name = err.errorMessage;
    const flood = /^FLOOD(?:_PREMIUM)?_WAIT_(\d+)$/.exec(name);
    if (flood) return new LoginFailure('FLOOD_WAIT', 'Telegram asks to wait', Number(flood[1]));
    const reason = TELEGRAM_REASONS[name];
    if (reason === 'FLOOD_WAIT') return new LoginFailure(reason, `Telegram: ${name}`, 60);
    if (reason) return new LoginFailure(reason, `Telegram: ${name}`);
    if (err.code === -500 || (err.code ?? 0) >= 500) {
      return new LoginFailure('TELEGRAM_UNAVAILABLE', `Telegram: ${name}`);
    }
    return new LoginFailure('INTERNAL', `Telegram error ${name}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (
    /disconnect|ECONNREFUSED|ECONNRESET|timeout|timed out|not connected|connection/i.test(message)
  ) {
    return new LoginFailure('TELEGRAM_UNAVAILABLE', 'Telegram cannot be reached');
  }
  return new LoginFailure('INTERNAL', 'internal error');
}
