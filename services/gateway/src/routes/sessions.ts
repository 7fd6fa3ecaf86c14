/**
 * `GET /api/telegram/sessions?agent_id=&status=`: the caller's tenant's
 * sessions, newest first, read from MongoDB (the `sessions` read model; no
 * gRPC call). Never returns secrets.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { sessionModel, SESSION_STATUSES, type SessionDoc } from '@tgbridge/sessions';
import type { GatewayDeps } from '../deps.js';
import { principalOf } from './errors.js';
import { userId } from './login-view.js';
import { errorResponses } from './schemas.js';
import { StatusView } from './telegram-login.js';

/** `+989123456789` → `+989***789` (seed 004's masking). */
export function maskPhone(phone: string | undefined): string | null {
  if (!phone) return null;
  const digits = phone.replace(/[^0-9]/g, '');
  if (digits.length < 7) return `+${'*'.repeat(digits.length)}`;
  return `+${digits.slice(0, 3)}***${digits.slice(-3)}`;
}

/** List entry of a stored session. */
export function sessionView(doc: SessionDoc): Record<string, unknown> {
  const phone = doc.telegramUser?.phone ?? doc.phone;
  return {
    connected: doc.status === 'connected',
    status: doc.status,
    session_id: doc._id,
    agent_id: doc.agentId,
    method: doc.method,
    phone: phone ?? null,
    phone_masked: maskPhone(phone),
    user_id: userId(doc.telegramUser?.id),
    username: doc.telegramUser?.username ?? null,
    first_name: doc.telegramUser?.firstName ?? null,
    last_name: doc.telegramUser?.lastName ?? null,
    requires_password: doc.status === 'awaiting_password',
    last_activity: doc.lastActivityAt ? doc.lastActivityAt.toISOString() : null,
    created_at: doc.createdAt ? doc.createdAt.toISOString() : null,
  };
}

/** Registers the sessions list route. */
export default async function sessionRoutes(
  app: FastifyInstance,
  deps: GatewayDeps,
): Promise<void> {
  const sessions = sessionModel(deps.mongo);
  app.get<{ Querystring: { agent_id?: string; status?: string; limit?: number } }>(
    '/api/telegram/sessions',
    {
      schema: {
        tags: ['login'],
        security: [{ apiKey: [] }, { bearer: [] }] as Array<Record<string, string[]>>,
        summary: "The tenant's sessions (optionally of one agent), newest first",
        querystring: Type.Object(
          {
            agent_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
            status: Type.Optional(Type.Union(SESSION_STATUSES.map((s) => Type.Literal(s)))),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ success: Type.Literal(true), sessions: Type.Array(StatusView) }),
          ...errorResponses(400, 401, 500),
        },
      },
    },
    async (request) => {
      const { tenantId } = principalOf(request);
      const filter: Record<string, unknown> = { tenantId };
      if (request.query.agent_id !== undefined) filter.agentId = request.query.agent_id;
      if (request.query.status !== undefined) filter.status = request.query.status;
      const docs = await sessions
        .find(filter, { sessionSecret: 0, login: 0, updateState: 0 })
        .sort({ createdAt: -1 })
        .limit(request.query.limit ?? 100)
        .lean<SessionDoc[]>()
        .exec();
      return { success: true as const, sessions: docs.map(sessionView) };
    },
  );
}
