/**
 * Auth service configuration: the platform base variables plus the gRPC
 * listener, the Telegram target (emulator or real Telegram) and login-flow
 * timing. See README "Configuration" and `.env.example`.
 */
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

/**
 * Parsed auth configuration (written out: the platform field helpers'
 * inferred output types are not precise enough to rely on).
 */
export interface AuthConfig {
  SERVICE_NAME: string;
  LOG_LEVEL: string;
  NATS_URL: string;
  MONGO_URL: string;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  METRICS_PORT: number;
  SHUTDOWN_TIMEOUT_MS: number;
  /** Session-secret keyring spec `kid:base64key,...` (AES-256-GCM). */
  SESSION_ENCRYPTION_KEYS: string;
  SESSION_ENCRYPTION_ACTIVE_KEY_ID?: string;
  /** gRPC listen address. */
  GRPC_HOST: string;
  /** gRPC port (0: any free port). */
  GRPC_PORT: number;
  /** `host:port[/dcId]` of a custom DC (the emulator); unset = real Telegram. */
  TELEGRAM_DC?: string;
  /** PEM (or path) of the custom DC's RSA public key. */
  TELEGRAM_RSA_PUBLIC_KEY?: string;
  /** Telegram api_id (required for real Telegram). */
  TELEGRAM_API_ID?: number;
  /** Telegram api_hash (required for real Telegram). */
  TELEGRAM_API_HASH?: string;
  /** JetStream stream of events (created if missing). */
  EVENTS_STREAM: string;
  /** Lifetime of an unfinished login, ms (seed 000: 300 s). */
  LOGIN_FLOW_TTL_MS: number;
  /** How often expired flows are cleaned up, ms. */
  LOGIN_SWEEP_INTERVAL_MS: number;
  /** A QR token this close to expiry is replaced on the next status read, ms. */
  QR_REFRESH_MARGIN_MS: number;
}

/**
 * Reads the auth configuration from `env`.
 * @throws ConfigError listing every problem
 */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env): AuthConfig {
  return loadConfig(authConfigSchema, env) as unknown as AuthConfig;
}
