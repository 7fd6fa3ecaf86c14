/**
 * Error replies in seed 000's shape: `{ success: false, error: "<human text>", code: "<STABLE_CODE>" }`
 * (plus optional extra fields such as `retry_after`). Also maps the two
 * internal error contracts onto HTTP: the auth service's LoginError (gRPC)
 * and the connector's CommandError (NATS). Tables: docs/contracts.md.
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readLoginError } from '@tgbridge/proto/login-error';
import type { CommandError } from '@tgbridge/proto/connector/v1/connector';
import type { Principal } from '../deps.js';

/** Body of every error reply. */
export interface ErrorBody {
  success: false;
  /** Human-readable text (English); never contains secrets. */
  error: string;
  /** Stable machine-readable code, UPPER_SNAKE_CASE. */
  code: string;
  [extra: string]: unknown;
}

/**
 * Sends an error reply.
 *
 * @param status HTTP status
 * @param code stable code (e.g. `VALIDATION_ERROR`, `PHONE_CODE_INVALID`)
 * @param message human text, no secrets
 * @param extra additional fields merged into the body (e.g. `{ retry_after: 42 }`)
 */
export function replyError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
): FastifyReply {
  const body: ErrorBody = { success: false, error: message, code, ...extra };
  return reply.code(status).send(body);
}

/** HTTP status of each LoginError reason (docs/contracts.md "Auth errors"). */
export const LOGIN_ERROR_HTTP: Record<string, number> = {
  PHONE_CODE_INVALID: 400,
  PHONE_CODE_EXPIRED: 410,
  PASSWORD_HASH_INVALID: 400,
  PHONE_NUMBER_INVALID: 400,
  PHONE_NUMBER_BANNED: 403,
  FLOOD_WAIT: 429,
  AUTH_TOKEN_EXPIRED: 410,
  FLOW_EXPIRED: 410,
  FLOW_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  FLOW_STATE_INVALID: 409,
  INVALID_ARGUMENT: 400,
  API_ID_INVALID: 400,
  TELEGRAM_UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** Human text per LoginError reason (the auth service's message is English detail, this is the API text). */
const LOGIN_ERROR_TEXT: Record<string, string> = {
  PHONE_CODE_INVALID: 'The login code is invalid',
  PHONE_CODE_EXPIRED: 'The login code has expired; request a new one',
  PASSWORD_HASH_INVALID: 'The 2FA password is invalid',
  PHONE_NUMBER_INVALID: 'The phone number is invalid',
  PHONE_NUMBER_BANNED: 'The phone number is banned by Telegram',
  FLOOD_WAIT: 'Too many attempts; retry later',
  AUTH_TOKEN_EXPIRED: 'The QR login token has expired',
  FLOW_EXPIRED: 'The login has expired; start again',
  FLOW_NOT_FOUND: 'Session not found',
  SESSION_NOT_FOUND: 'Session not found',
  FLOW_STATE_INVALID: 'This step does not fit the current login state',
  API_ID_INVALID: 'Telegram rejected api_id/api_hash',
  TELEGRAM_UNAVAILABLE: 'Telegram is unavailable; retry later',
  INTERNAL: 'Internal error',
};

/** HTTP status of each CommandError code (connector.proto). */
export const COMMAND_ERROR_HTTP: Record<string, number> = {
  SESSION_NOT_CONNECTED: 409,
  SESSION_EXPIRED: 409,
  FLOOD_WAIT: 429,
  CHAT_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  CHAT_WRITE_FORBIDDEN: 403,
  INVALID_ARGUMENT: 400,
  TIMEOUT: 504,
  INTERNAL: 500,
};

function floodExtra(reply: FastifyReply, seconds: number): Record<string, unknown> {
  const s = Math.max(1, Math.ceil(seconds));
  reply.header('Retry-After', String(s));
  return { retry_after: s };
}

/**
 * Replies to a failed AuthService call: LoginError reason → HTTP status and
 * `code` (FLOOD_WAIT adds `Retry-After` and `retry_after`); without a
 * LoginError, UNAVAILABLE/DEADLINE_EXCEEDED → 503 `AUTH_UNAVAILABLE`,
 * anything else → 500 `INTERNAL`.
 */
export function replyLoginError(reply: FastifyReply, err: unknown): FastifyReply {
  const grpcErr = err as Partial<ServiceError> | undefined;
  const detail = readLoginError(grpcErr as ServiceError);
  if (detail && detail.reason) {
    const status = LOGIN_ERROR_HTTP[detail.reason] ?? httpForGrpc(grpcErr?.code);
    const extra = detail.reason === 'FLOOD_WAIT' ? floodExtra(reply, detail.retryAfterSeconds) : {};
    const text =
      detail.reason === 'INVALID_ARGUMENT'
        ? detail.message || 'Invalid argument'
        : (LOGIN_ERROR_TEXT[detail.reason] ?? (detail.message || detail.reason));
    return replyError(reply, status, detail.reason, text, extra);
  }
  const code = grpcErr?.code;
  if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
    return replyError(
      reply,
      503,
      'AUTH_UNAVAILABLE',
      'The login service is unavailable; retry later',
    );
  }
  reply.request.log.error({ err }, 'auth call failed');
  return replyError(reply, 500, 'INTERNAL', 'Internal error');
}

function httpForGrpc(code: number | undefined): number {
  switch (code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return 400;
    case GrpcStatus.NOT_FOUND:
      return 404;
    case GrpcStatus.PERMISSION_DENIED:
      return 403;
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 429;
    case GrpcStatus.FAILED_PRECONDITION:
      return 409;
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 503;
    default:
      return 500;
  }
}

/** Replies to a failed connector command (CommandError from a `Tg-Error` reply). */
export function replyCommandError(reply: FastifyReply, err: CommandError): FastifyReply {
  const status = COMMAND_ERROR_HTTP[err.code] ?? 500;
  const extra = err.code === 'FLOOD_WAIT' ? floodExtra(reply, err.retryAfterSeconds) : {};
  return replyError(reply, status, err.code || 'INTERNAL', err.message || err.code, extra);
}

/**
 * The caller's principal. Route handlers behind the API-key hook always have one.
 * @throws Error when called on a public route (programming error)
 */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf: route is not authenticated');
  return request.principal;
}
