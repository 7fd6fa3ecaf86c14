/**
 * Admin routes (bootstrap key `API_SECRET_KEY` only): create, list and
 * revoke tenant-scoped API keys. A created key is returned once, in
 * `api_key`; only its SHA-256 hash is stored.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { apiKeyModel, createApiKey, keyInfo, type ApiKeyDoc } from '../infra/api-keys.js';
import { replyError } from './errors.js';
import { errorResponses } from './schemas.js';

const KeyInfo = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  revoked_at: Type.Union([Type.String(), Type.Null()]),
});
const TenantId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** Registers `/api/admin/api-keys` routes. */
export default async function adminKeyRoutes(
  app: FastifyInstance,
  deps: GatewayDeps,
): Promise<void> {
  const keys = apiKeyModel(deps.mongo);
  const security: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];
  const common = { tags: ['admin'], security };

  app.post<{ Body: { tenant_id: string; name?: string } }>(
    '/api/admin/api-keys',
    {
      config: { admin: true },
      schema: {
        ...common,
        summary: 'Create an API key for a tenant (the key is shown only in this response)',
        body: Type.Object(
          { tenant_id: TenantId, name: Type.Optional(Type.String({ maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ success: Type.Literal(true), api_key: Type.String(), key: KeyInfo }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const { doc, key } = await createApiKey(
        keys,
        request.body.tenant_id,
        request.body.name ?? '',
      );
      request.log.info({ keyId: doc._id, tenantId: doc.tenantId }, 'api key created');
      return reply.code(201).send({ success: true, api_key: key, key: keyInfo(doc) });
    },
  );

  app.get<{ Querystring: { tenant_id?: string } }>(
    '/api/admin/api-keys',
    {
      config: { admin: true },
      schema: {
        ...common,
        summary: 'List API keys (never the keys themselves)',
        querystring: Type.Object(
          { tenant_id: Type.Optional(TenantId) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ success: Type.Literal(true), keys: Type.Array(KeyInfo) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const filter = request.query.tenant_id ? { tenantId: request.query.tenant_id } : {};
      const docs = await keys.find(filter).sort({ createdAt: 1 }).lean<ApiKeyDoc[]>().exec();
      return { success: true as const, keys: docs.map(keyInfo) };
    },
  );

  app.delete<{ Params: { key_id: string } }>(
    '/api/admin/api-keys/:key_id',
    {
      config: { admin: true },
      schema: {
        ...common,
        summary: 'Revoke an API key (effective immediately)',
        params: Type.Object({ key_id: Type.String({ pattern: '^k[0-9a-f]{16}$' }) }),
        response: {
          200: Type.Object({ success: Type.Literal(true), key: KeyInfo }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const doc = await keys
        .findOneAndUpdate(
          { _id: request.params.key_id },
          { $set: { revokedAt: new Date() } },
          { returnDocument: 'after' },
        )
        .lean<ApiKeyDoc>()
        .exec();
      if (!doc) return replyError(reply, 404, 'NOT_FOUND', 'API key not found');
      request.log.info({ keyId: doc._id }, 'api key revoked');
      return { success: true as const, key: keyInfo(doc) };
    },
  );
}
