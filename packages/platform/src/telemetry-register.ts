/**
 * Side-effect module: starts telemetry from the environment. Make it the
 * first import of a service's `main.ts` so instrumentations are in place
 * before fastify, gRPC, mongodb and pino load:
 *
 *   import '@tgbridge/platform/telemetry-register';
 *   import { start } from './app.js';
 *
 * Reads `SERVICE_NAME` (default: the service directory of the entry script,
 * `services/<name>/…`, as its config defaults do; else `tgbridge`) and
 * `OTEL_EXPORTER_OTLP_ENDPOINT`. Set `OTEL_SDK_DISABLED=true` to skip.
 * The SDK is shut down by lifecycle.ts (`onShutdown`) as the last step.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { onShutdown } from './lifecycle.js';
import { startTelemetry } from './telemetry.js';

/** `gateway` for `…/services/gateway/src/main.ts` (or `…/dist/main.js`); undefined otherwise. */
export function serviceNameFromEntry(entry: string | undefined): string | undefined {
  return /[\\/]services[\\/]([^\\/]+)[\\/]/.exec(entry ?? '')?.[1];
}

if (process.env.OTEL_SDK_DISABLED !== 'true') {
  const telemetry = startTelemetry({
    serviceName: process.env.SERVICE_NAME || serviceNameFromEntry(process.argv[1]) || 'tgbridge',
  });
  onShutdown(() => telemetry.shutdown(), { name: 'telemetry', order: 1000 });
  // The gRPC instrumentation patches CommonJS `require`; our ESM code imports
  // @grpc/grpc-js directly, which bypasses it. Loading it once through require
  // here patches the shared module object that those imports then receive.
  // Resolved from the entry script, as the service's own imports are (this
  // module is bundled into dist/, so its own location is not a fixed point).
  try {
    createRequire(resolve(process.argv[1] ?? join(process.cwd(), 'main.js')))('@grpc/grpc-js');
  } catch {
    // not installed in this deployment: nothing to instrument
  }
}
