/**
 * Auth service configuration: the platform base variables plus the gRPC
 * listener, the Telegram target (emulator or real Telegram) and login-flow
 * timing. See README "Configuration" and `.env.example`.
 */
import type { z } from 'zod';
import {
  baseConfigSchema,
  durationMs,
  int,
  loadConfig,
  port,
  secret,
  str,
} from '@tgbridge/platform/config';

/** zod schema of the auth service's environment. */
export const authConfigSchema = baseConfigSchema.extend({
  SERVICE_NAME: str({ default: 'auth' }),
  GRPC_HOST: str({ default: '0.0.0.0' }),
  GRPC_PORT: port({ default: 50051, allowZero: true }),
  TELEGRAM_DC: str({ optional: true }),
  TELEGRAM_RSA_PUBLIC_KEY: str({ optional: true }),
  TELEGRAM_API_ID: int({ optional: true, min: 1 }),
  TELEGRAM_API_HASH: secret({ optional: true }),
  EVENTS_STREAM: str({ default: 'TG_EVENTS' }),
  LOGIN_FLOW_TTL_MS: durationMs({ default: 300_000 }),
  LOGIN_SWEEP_INTERVAL_MS: durationMs({ default: 15_000 }),
  QR_REFRESH_MARGIN_MS: durationMs({ default: 3_000 }),
});

/** Parsed auth configuration (the schema's output). */
export type AuthConfig = z.infer<typeof authConfigSchema>;

/**
 * Reads the auth configuration from `env`.
 * @throws ConfigError listing every problem
 */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env): AuthConfig {
  return loadConfig(authConfigSchema, env);
}
