/**
 * End-to-end stack for gateway tests: emulator, N auth replicas, one
 * gateway, on the real NATS and MongoDB-wire servers of the global setup.
 */
import { inject } from 'vitest';
import { uniqueDbUrl } from '@tgbridge/testinfra';
import type { RunningEmulator, EmulatorOptions } from '@tgbridge/tg-emulator';
import type { AuthService } from '../../auth/src/app.js';
import {
  captureLogger,
  emulator,
  keySpec,
  LogCapture,
  startAuth,
  type AuthEnv,
} from '../../auth/test/harness.js';
import { createGateway, type Gateway } from '../src/app.js';
import { loadGatewayConfig } from '../src/config.js';

/** The bootstrap admin key of test gateways. */
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** A running stack. */
export interface Stack {
  emu: RunningEmulator;
  auths: AuthService[];
  gateway: Gateway;
  /** Base URL of the gateway. */
  url: string;
  authEnv: AuthEnv;
  logs: LogCapture;
  /** Log captures per auth replica (also appended to `logs`). */
  authLogs: LogCapture[];
  /** fetch JSON against the gateway with the admin key (or `key`). */
  call(
    method: string,
    path: string,
    body?: unknown,
    key?: string | null,
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  replicas?: number;
  emulator?: EmulatorOptions;
  /** Fixed auth ports (for restart tests). */
  ports?: number[];
  gatewayEnv?: Record<string, string>;
  authExtra?: Record<string, string>;
}

/** Starts emulator + auth replicas + gateway. */
export async function startStack(name: string, opts: StackOptions = {}): Promise<Stack> {
  const logs = new LogCapture();
  const emu = await emulator({ loginTokenTtlSeconds: 30, codeTtlSeconds: 300, ...opts.emulator });
  const mongoUrl = uniqueDbUrl(inject('mongoUrl'), name);
  const authEnv: AuthEnv = {
    natsUrl: inject('natsUrl'),
    mongoUrl,
    keys: keySpec(),
    extra: opts.authExtra,
  };
  const auths: AuthService[] = [];
  const authLogs: LogCapture[] = [];
  const n = opts.replicas ?? 1;
  for (let i = 0; i < n; i++) {
    const capture = new LogCapture();
    authLogs.push(capture);
    const logger = captureLogger([capture, logs], `auth-${i}`);
    auths.push(await startAuth(emu, { ...authEnv, port: opts.ports?.[i] ?? 0 }, logger));
  }
  const config = loadGatewayConfig({
    NATS_URL: authEnv.natsUrl,
    MONGO_URL: mongoUrl,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    API_SECRET_KEY: ADMIN_KEY,
    AUTH_GRPC_ADDRESSES: auths.map((a) => `127.0.0.1:${a.port}`).join(','),
    AUTH_GRPC_TIMEOUT_MS: '20000',
    ...opts.gatewayEnv,
  });
  const gateway = createGateway(config, { logger: captureLogger(logs, 'gateway') });
  const url = await gateway.start();
  return {
    emu,
    auths,
    gateway,
    url,
    authEnv,
    logs,
    authLogs,
    async call(method, path, body, key = ADMIN_KEY) {
      const headers: Record<string, string> = {};
      if (key !== null) headers['x-api-key'] = key;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, {
        method,
        headers,
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { raw: text };
      }
      return { status: res.status, headers: res.headers, json };
    },
    async stop() {
      await gateway.stop();
      for (const a of auths) await a.stop();
      await emu.stop();
    },
  };
}
