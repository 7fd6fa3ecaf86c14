/**
 * What every gateway route module receives. Route modules live in
 * `src/routes/<area>.ts` as `export default async function routes(app, deps: GatewayDeps)`
 * and are listed in `src/routes/index.ts`.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Connection } from 'mongoose';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from './config.js';
import type { AuthClient } from './infra/auth-client.js';

/** Shared dependencies of the gateway's route plugins. */
export interface GatewayDeps {
  /** Parsed environment configuration. */
  config: GatewayConfig;
  /** Root logger (fastify's `request.log` is a child of it with the request id). */
  logger: Logger;
  /** NATS connection (JetStream via `jetstream(deps.nats)`, commands via `nats.request`). */
  nats: NatsConnection;
  /** mongoose connection to the tgbridge database (read models, api_keys). */
  mongo: Connection;
  /** Promise-based AuthService gRPC client (round-robin over every auth replica). */
  auth: AuthClient;
  /** prom-client registry served at `/metrics`; register route metrics here. */
  metrics: Registry;
}

/**
 * Who is calling, set by the API-key hook on every authenticated request as
 * `request.principal`. `tenantId` scopes every read and write; `admin` is
 * true only for the bootstrap key (`API_SECRET_KEY`), which also acts on the
 * tenant `DEFAULT_TENANT_ID` (single-tenant deployments as in seed 000).
 */
export interface Principal {
  /** Tenant the key belongs to. */
  tenantId: string;
  /** Id of the API key (`bootstrap` for API_SECRET_KEY). */
  keyId: string;
  /** May use `/api/admin/*`. */
  admin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the API-key hook; undefined only on public routes. */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Route is served without an API key (health, metrics, docs). */
    public?: boolean;
    /** Route needs an admin key. */
    admin?: boolean;
  }
}
