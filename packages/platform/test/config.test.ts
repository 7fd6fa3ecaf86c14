import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseConfigSchema,
  bool,
  ConfigError,
  durationMs,
  list,
  loadConfig,
  oneOf,
  port,
  secret,
  str,
  url,
} from '../src/config.js';

const key = (): string => randomBytes(32).toString('base64');

describe('loadConfig', () => {
  const schema = baseConfigSchema.extend({
    SERVICE_NAME: str({ default: 'gateway' }),
    HTTP_PORT: port({ default: 8080 }),
    API_TOKEN: secret({ minLength: 16 }),
    FEATURE_X: bool({ default: false }),
    ALLOWED: list({ default: [] }),
    RETRY: durationMs({ optional: true }),
    MODE: oneOf(['a', 'b'] as const, { default: 'a' }),
  });

  it('parses a valid env with defaults and typed values', () => {
    const k1 = key();
    const config = loadConfig(schema, {
      SESSION_ENCRYPTION_KEYS: `k1:${k1}`,
      API_TOKEN: 'x'.repeat(20),
      FEATURE_X: '1',
      ALLOWED: 'a, b,,c',
      RETRY: '1.5s',
      HTTP_PORT: '',
    });
    expect(config).toMatchObject({
      SERVICE_NAME: 'gateway',
      LOG_LEVEL: 'info',
      NATS_URL: 'nats://127.0.0.1:4222',
      METRICS_PORT: 9464,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      HTTP_PORT: 8080,
      FEATURE_X: true,
      ALLOWED: ['a', 'b', 'c'],
      RETRY: 1500,
      MODE: 'a',
    });
    expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    // compile-time: typed output
    const p: number = config.HTTP_PORT;
    const r: number | undefined = config.RETRY;
    expect(p + (r ?? 0)).toBe(9580);
  });

  it('lists every problem, one line each, without echoing secrets', () => {
    const leakedToken = 'short-secret';
    const leakedKey = Buffer.from('sixteen-byte-key').toString('base64');
    let error: unknown;
    try {
      loadConfig(schema, {
        NATS_URL: 'not a url',
        MONGO_URL: 'http://user:hunter2@db:27017/x',
        METRICS_PORT: '70000',
        LOG_LEVEL: 'loud',
        SHUTDOWN_TIMEOUT_MS: 'soon',
        SESSION_ENCRYPTION_KEYS: `k1:${leakedKey}`,
        API_TOKEN: leakedToken,
        FEATURE_X: 'maybe',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'NATS_URL: expected a URL (nats:, tls:, ws:, wss:), got "not a url"',
      'MONGO_URL: expected a URL with scheme mongodb: or mongodb+srv:, got "http://***@db:27017/x"',
      'METRICS_PORT: expected a port number (0-65535), got "70000"',
      'SHUTDOWN_TIMEOUT_MS: expected a duration in ms or with a unit (500ms, 30s, 5m, 1h), got "soon"',
      'SESSION_ENCRYPTION_KEYS: key "k1" is 16 bytes, expected exactly 32 (generate one with: openssl rand -base64 32)',
      'API_TOKEN: must be at least 16 characters (got 12; value not shown)',
      'FEATURE_X: expected true/false/1/0, got "maybe"',
    ]);
    const text = `${(error as Error).message}\n${problems.join('\n')}`;
    for (const secretValue of [leakedToken, leakedKey, 'hunter2'])
      expect(text).not.toContain(secretValue);
  });

  it('reports missing required variables', () => {
    const err = (() => {
      try {
        loadConfig(schema, {});
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected ConfigError');
    })();
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.problems).toEqual([
      'SESSION_ENCRYPTION_KEYS: required but not set',
      'API_TOKEN: required but not set',
    ]);
  });

  it('checks that the active key id is one of the keys', () => {
    expect(() =>
      loadConfig(baseConfigSchema, {
        SESSION_ENCRYPTION_KEYS: `k1:${key()}`,
        SESSION_ENCRYPTION_ACTIVE_KEY_ID: 'k9',
      }),
    ).toThrow(
      /SESSION_ENCRYPTION_ACTIVE_KEY_ID: "k9" is not one of the key ids in SESSION_ENCRYPTION_KEYS \(k1\)/,
    );
  });

  it('reads only the keys of the schema', () => {
    const small = z.object({ ONLY: url({ default: 'http://x' }) });
    expect(loadConfig(small, { OTHER: 'x' })).toEqual({ ONLY: 'http://x' });
  });
});
