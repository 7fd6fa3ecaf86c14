/**
 * TypeBox schemas shared by route modules. Request bodies use
 * `additionalProperties: false` and the gateway's ajv removes unknown
 * properties instead of rejecting them (documented behaviour: unknown fields
 * are ignored, so CRMs may send extra fields safely). Types are not coerced
 * in bodies: `"agent_id": true` is a 400.
 */
import { Type, type TSchema } from '@sinclair/typebox';

/** Seed 000 sends `agent_id` as a number (123); strings of [A-Za-z0-9_-] are accepted too. */
export const AgentId = Type.Union(
  [
    Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  ],
  { description: 'CRM agent id: a non-negative integer or a string of [A-Za-z0-9_-]{1,64}' },
);

/** UUID of a login flow / session. */
export const SessionId = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'session id (UUID) returned by request-qr / request-code',
});

/** Telegram user id, a JSON number (all current ids are below 2^53) or null. */
export const UserIdOrNull = Type.Union([Type.Integer(), Type.String(), Type.Null()]);

/** Seed-000 error body plus the stable code. */
export const ErrorReply = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String({ description: 'human-readable message' }),
    code: Type.String({ description: 'stable machine-readable code' }),
    retry_after: Type.Optional(Type.Integer({ description: 'FLOOD_WAIT: seconds to wait' })),
  },
  { additionalProperties: true },
);

/** Standard error responses for a route's schema. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = ErrorReply;
  return out;
}

/** Status strings of a session (SessionStatus without its prefix, lowercase). */
export const StatusName = Type.String({
  description:
    'pending | awaiting_code | awaiting_password | connected | disconnected | expired | logged_out',
});
