/**
 * Gateway configuration: the platform base variables (minus the session
 * encryption keys, which the gateway never needs) plus HTTP, API-key, auth
 * gRPC and rate-limit settings. See README "Configuration" and `.env.example`.
 */
import type { z } from 'zod';
import {
  baseConfigSchema,
  bool,
  durationMs,
  int,
  list,
  loadConfig,
  port,
  secret,
  str,
} from '@tgbridge/platform/config';

/** zod schema of the gateway's environment. */
export const gatewayConfigSchema = baseConfigSchema
  .omit({ SESSION_ENCRYPTION_KEYS: true, SESSION_ENCRYPTION_ACTIVE_KEY_ID: true })
  .extend({
    SERVICE_NAME: str({ default: 'gateway' }),
    HTTP_HOST: str({ default: '0.0.0.0' }),
    HTTP_PORT: port({ default: 8080, allowZero: true }),
    API_SECRET_KEY: secret({ minLength: 16 }),
    DEFAULT_TENANT_ID: str({ default: 'default' }),
    AUTH_GRPC_ADDRESSES: list({ default: ['127.0.0.1:50051'] }),
    AUTH_GRPC_TIMEOUT_MS: durationMs({ default: 20_000 }),
    HTTP_BODY_LIMIT_BYTES: int({ default: 65_536, min: 1024 }),
    RATE_LIMIT_MAX: int({ default: 300, min: 1 }),
    RATE_LIMIT_WINDOW_MS: durationMs({ default: 60_000 }),
    TRUST_PROXY: bool({ default: false }),
  });

/** Parsed gateway configuration (the schema's output). */
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/**
 * Reads the gateway configuration from `env`.
 * @throws ConfigError listing every problem
 */
export function loadGatewayConfig(
  env: Record<string, string | undefined> = process.env,
): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}
