// LoginError in gRPC trailing metadata: the stable reasons of
// tgbridge.auth.v1.LoginError, their gRPC status codes, and helpers for the
// auth service (raise) and the gateway (read). See docs/contracts.md.
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { LoginError } from './gen/tgbridge/auth/v1/auth.js';

/** Trailing-metadata key carrying a binary-encoded LoginError. */
export const LOGIN_ERROR_METADATA_KEY = 'tgbridge-login-error-bin';

/** The documented LoginError reasons and the gRPC status each travels with. */
export const LOGIN_ERROR_STATUS = {
  PHONE_CODE_INVALID: status.INVALID_ARGUMENT,
  PHONE_CODE_EXPIRED: status.FAILED_PRECONDITION,
  PASSWORD_HASH_INVALID: status.INVALID_ARGUMENT,
  PHONE_NUMBER_INVALID: status.INVALID_ARGUMENT,
  PHONE_NUMBER_BANNED: status.PERMISSION_DENIED,
  FLOOD_WAIT: status.RESOURCE_EXHAUSTED,
  AUTH_TOKEN_EXPIRED: status.FAILED_PRECONDITION,
  FLOW_EXPIRED: status.FAILED_PRECONDITION,
  FLOW_NOT_FOUND: status.NOT_FOUND,
  SESSION_NOT_FOUND: status.NOT_FOUND,
  FLOW_STATE_INVALID: status.FAILED_PRECONDITION,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  API_ID_INVALID: status.INVALID_ARGUMENT,
  TELEGRAM_UNAVAILABLE: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
} as const satisfies Record<string, status>;

export type LoginErrorReason = keyof typeof LOGIN_ERROR_STATUS;

export function isLoginErrorReason(reason: string): reason is LoginErrorReason {
  return Object.prototype.hasOwnProperty.call(LOGIN_ERROR_STATUS, reason);
}

/**
 * Builds the error a grpc-js unary handler passes to its callback:
 * `callback(loginError('FLOOD_WAIT', 'retry later', 42), null)`.
 * `message` must not contain secrets (codes, passwords, session strings).
 */
export function loginError(
  reason: LoginErrorReason,
  message: string,
  retryAfterSeconds = 0,
): Partial<StatusObject> {
  const metadata = new Metadata();
  const detail = LoginError.encode({ reason, message, retryAfterSeconds }).finish();
  metadata.set(LOGIN_ERROR_METADATA_KEY, Buffer.from(detail));
  return { code: LOGIN_ERROR_STATUS[reason], details: `${reason}: ${message}`, metadata };
}

/**
 * Reads the LoginError of a failed call (client side), or undefined when the
 * error carries none (e.g. a deadline or connection failure: use `err.code`).
 */
export function readLoginError(
  err: Pick<ServiceError, 'metadata'> | null | undefined,
): LoginError | undefined {
  const value = err?.metadata?.get(LOGIN_ERROR_METADATA_KEY)[0];
  if (value === undefined || typeof value === 'string') return undefined;
  try {
    return LoginError.decode(value);
  } catch {
    return undefined;
  }
}
