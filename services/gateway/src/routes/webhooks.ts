/**
 * Webhook endpoint management, delivery log and replay. The gateway owns no
 * webhook state: every route forwards to the notifier over NATS
 * request/reply (`tg.notifier.*`, docs/contracts.md "Notifier API"),
 * scoped to the caller's tenant. Replies use seed 000's style
 * (`success`, and `code` + `error` on failure).
 *
 * - `POST /api/webhooks` create (the `whsec_` secret is returned once)
 * - `GET /api/webhooks`, `GET|PATCH|DELETE /api/webhooks/{id}`
 * - `POST /api/webhooks/{id}/rotate-secret` (old secret keeps signing for the grace period)
 * - `GET /api/webhooks/{id}/deliveries`, `GET /api/webhooks/{id}/attempts` (paginated)
 * - `GET /api/webhooks/events/{event_id}/deliveries|attempts`
 * - `GET /api/webhooks/deliveries/{delivery_id}`, `POST .../replay`
 * - `POST /api/webhooks/{id}/recover {since, until}` (replay failed deliveries of a range)
 *
 * The seed-000 default endpoint has the id `default`; its deliveries of the
 * tenant's events are listed like any other endpoint's.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { traceRequest } from '@tgbridge/platform/telemetry';
import type { GatewayDeps } from '../deps.js';
import { principalOf, replyError } from './errors.js';
import { errorResponses } from './schemas.js';

/** NATS subjects of the notifier API (services/notifier/src/handlers/subjects.ts). */
const S = {
  create: 'tg.notifier.endpoints.create',
  list: 'tg.notifier.endpoints.list',
  get: 'tg.notifier.endpoints.get',
  update: 'tg.notifier.endpoints.update',
  delete: 'tg.notifier.endpoints.delete',
  rotate: 'tg.notifier.endpoints.rotate',
  recover: 'tg.notifier.endpoints.recover',
  deliveries: 'tg.notifier.deliveries.list',
  delivery: 'tg.notifier.deliveries.get',
  replay: 'tg.notifier.deliveries.replay',
  attempts: 'tg.notifier.attempts.list',
} as const;

const EndpointId = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,128}$',
  description: 'endpoint id (`ep_...`, or `default`)',
});
const DeliveryId = Type.String({
  minLength: 3,
  maxLength: 300,
  description: '`<endpoint_id>.<event_id>`',
});
const EventId = Type.String({ pattern: '^[A-Za-z0-9_:.-]{1,128}$' });
const EventType = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' });
const Nullable = (t: TSchema) => Type.Union([t, Type.Null()]);

const Endpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  event_types: Type.Array(Type.String(), { description: 'empty: every event type' }),
  agent_ids: Type.Array(Type.String(), { description: 'empty: every agent' }),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String({ description: '`gone` (410) or `failing`' })),
  previous_secret_expires_at: Nullable(
    Type.String({ description: 'end of the rotation grace period' }),
  ),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const Delivery = Type.Object({
  id: Type.String(),
  endpoint_id: Type.String(),
  event_id: Type.String(),
  event_type: Type.String(),
  agent_id: Type.String(),
  session_id: Type.String(),
  status: Type.String({ description: 'pending | delivered | failed | aborted' }),
  attempts: Type.Integer(),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  next_attempt_at: Nullable(Type.String()),
  created_at: Type.String(),
  completed_at: Nullable(Type.String()),
});

const Attempt = Type.Object({
  id: Type.String(),
  delivery_id: Type.String(),
  endpoint_id: Type.String(),
  event_id: Type.String(),
  event_type: Type.String(),
  attempt: Type.Integer(),
  at: Type.String(),
  status_code: Nullable(Type.Integer()),
  latency_ms: Type.Number(),
  error: Nullable(Type.String()),
  response_body: Nullable(Type.String({ description: 'first 1 KiB of the response' })),
  outcome: Type.String({ description: 'delivered | retry | failed | aborted | gone' }),
  trigger: Type.String({ description: 'event | retry | replay' }),
});

const Page = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'page size 1..200 (default 50)' }),
    ),
    cursor: Type.Optional(
      Type.String({ maxLength: 200, description: '`next_cursor` of the previous page' }),
    ),
  },
  { additionalProperties: false },
);
const NextCursor = Nullable(Type.String());
const ERRORS = errorResponses(400, 401, 404, 409, 503);

const EndpointInput = {
  url: Type.String({
    minLength: 1,
    maxLength: 2048,
    description: 'https URL (may contain `{agent_id}`)',
  }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  event_types: Type.Optional(Type.Array(EventType, { maxItems: 100 })),
  agent_ids: Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }), { maxItems: 100 }),
  ),
  enabled: Type.Optional(Type.Boolean()),
};

/** Forwards one call to the notifier and sends its answer (or the error). */
async function forward(
  deps: GatewayDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  subject: string,
  body: Record<string, unknown>,
  okStatus = 200,
): Promise<FastifyReply> {
  const p = principalOf(request);
  let answer: Record<string, unknown>;
  try {
    const msg = await traceRequest('tg.notifier', subject, natsHeaders(), (headers) =>
      deps.nats.request(
        subject,
        JSON.stringify({ ...body, tenant_id: p.tenantId, admin: p.admin }),
        { timeout: 15_000, headers },
      ),
    );
    answer = msg.json<Record<string, unknown>>();
  } catch (e) {
    const text = `${(e as Error)?.name ?? ''} ${(e as Error)?.message ?? ''}`;
    request.log.warn({ subject, err: text }, 'notifier request failed');
    return replyError(
      reply,
      503,
      'NOTIFIER_UNAVAILABLE',
      'The webhook service is unavailable; retry later',
    );
  }
  if (answer.ok !== true) {
    const status = typeof answer.status === 'number' ? answer.status : 500;
    return replyError(
      reply,
      status,
      String(answer.code ?? 'INTERNAL'),
      String(answer.error ?? 'internal error'),
    );
  }
  const { ok: _ok, ...rest } = answer;
  return reply.code(okStatus).send({ success: true, ...rest });
}

/** Registers the `/api/webhooks` routes. */
export default async function webhookRoutes(
  app: FastifyInstance,
  deps: GatewayDeps,
): Promise<void> {
  const security: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];
  const common = { tags: ['webhooks'], security };
  const IdParams = Type.Object({ id: EndpointId });

  app.post<{ Body: Record<string, unknown> }>(
    '/api/webhooks',
    {
      schema: {
        ...common,
        summary: 'Create a webhook endpoint; its signing secret (whsec_...) is returned only here',
        body: Type.Object(
          {
            ...EndpointInput,
            secret: Type.Optional(Type.String({ pattern: '^whsec_[A-Za-z0-9+/=]{32,90}$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            success: Type.Literal(true),
            endpoint: Endpoint,
            secret: Type.String(),
          }),
          ...ERRORS,
        },
      },
    },
    (request, reply) => forward(deps, request, reply, S.create, request.body, 201),
  );

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/api/webhooks',
    {
      schema: {
        ...common,
        summary: "List the tenant's webhook endpoints (newest first)",
        querystring: Page,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            endpoints: Type.Array(Endpoint),
            next_cursor: NextCursor,
          }),
          ...ERRORS,
        },
      },
    },
    (request, reply) => forward(deps, request, reply, S.list, { ...request.query }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Get a webhook endpoint',
        params: IdParams,
        response: {
          200: Type.Object({ success: Type.Literal(true), endpoint: Endpoint }),
          ...ERRORS,
        },
      },
    },
    (request, reply) => forward(deps, request, reply, S.get, { id: request.params.id }),
  );

  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary:
          'Change a webhook endpoint (enabled: true re-enables a disabled one and resumes its queue)',
        params: IdParams,
        body: Type.Object(
          { ...EndpointInput, url: Type.Optional(EndpointInput.url) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ success: Type.Literal(true), endpoint: Endpoint }),
          ...ERRORS,
        },
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.update, { ...request.body, id: request.params.id }),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a webhook endpoint and its pending deliveries (the delivery log is kept)',
        params: IdParams,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            deleted: Type.Boolean(),
            id: Type.String(),
          }),
          ...ERRORS,
        },
      },
    },
    (request, reply) => forward(deps, request, reply, S.delete, { id: request.params.id }),
  );

  app.post<{ Params: { id: string }; Body: { grace_seconds?: number } | undefined }>(
    '/api/webhooks/:id/rotate-secret',
    {
      schema: {
        ...common,
        summary:
          'Rotate the signing secret; the previous one keeps signing (two signatures per request) for grace_seconds (default 24 h)',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_592_000 })) },
            { additionalProperties: false },
          ),
        ),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            endpoint: Endpoint,
            secret: Type.String(),
          }),
          ...ERRORS,
        },
      },
    },
    (request, reply) => {
      const grace = request.body?.grace_seconds;
      return forward(deps, request, reply, S.rotate, {
        id: request.params.id,
        ...(grace === undefined ? {} : { grace_ms: grace * 1000 }),
      });
    },
  );

  app.post<{ Params: { id: string }; Body: { since: string; until?: string } }>(
    '/api/webhooks/:id/recover',
    {
      schema: {
        ...common,
        summary:
          'Replay every failed (dead-lettered) delivery of this endpoint completed between since and until',
        params: IdParams,
        body: Type.Object(
          {
            since: Type.String({ format: 'date-time' }),
            until: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            replayed: Type.Integer(),
            delivery_ids: Type.Array(Type.String(), { description: 'the first 100' }),
          }),
          ...ERRORS,
        },
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.recover, { ...request.body, id: request.params.id }),
  );

  const DeliveryList = {
    200: Type.Object({
      success: Type.Literal(true),
      deliveries: Type.Array(Delivery),
      next_cursor: NextCursor,
    }),
    ...ERRORS,
  };
  const AttemptList = {
    200: Type.Object({
      success: Type.Literal(true),
      attempts: Type.Array(Attempt),
      next_cursor: NextCursor,
    }),
    ...ERRORS,
  };

  app.get<{
    Params: { id: string };
    Querystring: { limit?: string; cursor?: string; status?: string; event_id?: string };
  }>(
    '/api/webhooks/:id/deliveries',
    {
      schema: {
        ...common,
        summary:
          "An endpoint's deliveries, newest first (status: pending | delivered | failed | aborted)",
        params: IdParams,
        querystring: Type.Object(
          {
            ...Page.properties,
            status: Type.Optional(
              Type.Union([
                Type.Literal('pending'),
                Type.Literal('delivered'),
                Type.Literal('failed'),
                Type.Literal('aborted'),
              ]),
            ),
            event_id: Type.Optional(EventId),
          },
          { additionalProperties: false },
        ),
        response: DeliveryList,
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.deliveries, {
        ...request.query,
        endpoint_id: request.params.id,
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string; cursor?: string } }>(
    '/api/webhooks/:id/attempts',
    {
      schema: {
        ...common,
        summary: "An endpoint's attempt log, newest first",
        params: IdParams,
        querystring: Page,
        response: AttemptList,
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.attempts, {
        ...request.query,
        endpoint_id: request.params.id,
      }),
  );

  app.get<{ Params: { event_id: string }; Querystring: { limit?: string; cursor?: string } }>(
    '/api/webhooks/events/:event_id/deliveries',
    {
      schema: {
        ...common,
        summary: "One event's deliveries (one per endpoint)",
        params: Type.Object({ event_id: EventId }),
        querystring: Page,
        response: DeliveryList,
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.deliveries, {
        ...request.query,
        event_id: request.params.event_id,
      }),
  );

  app.get<{ Params: { event_id: string }; Querystring: { limit?: string; cursor?: string } }>(
    '/api/webhooks/events/:event_id/attempts',
    {
      schema: {
        ...common,
        summary: "One event's attempts, newest first",
        params: Type.Object({ event_id: EventId }),
        querystring: Page,
        response: AttemptList,
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.attempts, {
        ...request.query,
        event_id: request.params.event_id,
      }),
  );

  app.get<{ Params: { delivery_id: string } }>(
    '/api/webhooks/deliveries/:delivery_id',
    {
      schema: {
        ...common,
        summary: 'One delivery with all its attempts',
        params: Type.Object({ delivery_id: DeliveryId }),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            delivery: Delivery,
            attempts: Type.Array(Attempt),
          }),
          ...ERRORS,
        },
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.delivery, { id: request.params.delivery_id }),
  );

  app.post<{ Params: { delivery_id: string } }>(
    '/api/webhooks/deliveries/:delivery_id/replay',
    {
      schema: {
        ...common,
        summary:
          'Replay a finished delivery (same webhook-id, new signature); 409 while it is still pending',
        params: Type.Object({ delivery_id: DeliveryId }),
        response: {
          202: Type.Object({ success: Type.Literal(true), delivery: Delivery }),
          ...ERRORS,
        },
      },
    },
    (request, reply) =>
      forward(deps, request, reply, S.replay, { id: request.params.delivery_id }, 202),
  );
}
