/**
 * API-key authentication: every route except those with `config.public`
 * needs `X-API-Key: <key>` (seed 000) or `Authorization: Bearer <key>`.
 * The bootstrap key `API_SECRET_KEY` is an admin acting on
 * `DEFAULT_TENANT_ID`; other keys come from `api_keys` and act on their
 * tenant. Sets `request.principal`; replies 401 `UNAUTHORIZED` (missing or
 * invalid key) or 403 `FORBIDDEN` (admin route, non-admin key).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Model } from 'mongoose';
import type { GatewayConfig } from '../config.js';
import type { Principal } from '../deps.js';
import { keysEqual, verifyApiKey, type ApiKeyDoc } from '../infra/api-keys.js';
import { replyError } from '../routes/errors.js';

/** The key presented by a request, if any. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  const x = Array.isArray(header) ? header[0] : header;
  if (x && x.trim() !== '') return x.trim();
  const auth = request.headers.authorization;
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1];
}

/** Resolves a key to its principal, or undefined when it is not valid. */
export async function principalForKey(
  key: string,
  config: GatewayConfig,
  keys: Model<ApiKeyDoc>,
): Promise<Principal | undefined> {
  if (keysEqual(key, config.API_SECRET_KEY)) {
    return { tenantId: config.DEFAULT_TENANT_ID, keyId: 'bootstrap', admin: true };
  }
  const doc = await verifyApiKey(keys, key);
  return doc ? { tenantId: doc.tenantId, keyId: doc._id, admin: false } : undefined;
}

/**
 * Installs the onRequest hook on `app` (call before registering routes).
 * Routes under `publicPrefix` (Swagger UI) are public.
 */
export function installAuthentication(
  app: FastifyInstance,
  config: GatewayConfig,
  keys: Model<ApiKeyDoc>,
  publicPrefix = '/docs',
): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const routeConfig = request.routeOptions.config;
    if (routeConfig?.public) return;
    // Unknown routes: let fastify answer 404 without revealing anything.
    const url = request.routeOptions.url;
    if (url === undefined || url === publicPrefix || url.startsWith(`${publicPrefix}/`)) return;
    const key = presentedKey(request);
    if (!key) {
      return replyError(
        reply,
        401,
        'UNAUTHORIZED',
        'Missing API key (X-API-Key header or Authorization: Bearer)',
      );
    }
    const principal = await principalForKey(key, config, keys);
    if (!principal) return replyError(reply, 401, 'UNAUTHORIZED', 'Invalid API key');
    if (routeConfig?.admin && !principal.admin) {
      return replyError(reply, 403, 'FORBIDDEN', 'This route needs an admin API key');
    }
    request.principal = principal;
  });
}
