/**
 * Side-effect module: starts telemetry from the environment. Make it the
 * first import of a service's `main.ts` so instrumentations are in place
 * before fastify, gRPC, mongodb and pino load:
 *
 *   import '@tgbridge/platform/telemetry-register';
 *   import { start } from './app.js';
 *
 * Reads `SERVICE_NAME` (default: the npm package name, else `tgbridge`)
 * and `OTEL_EXPORTER_OTLP_ENDPOINT`. Set `OTEL_SDK_DISABLED=true` to skip.
 * The SDK is shut down by lifecycle.ts (`onShutdown`) as the last step.
 */
import { onShutdown } from './lifecycle.js';
import { startTelemetry } from './telemetry.js';

if (process.env.OTEL_SDK_DISABLED !== 'true') {
  const telemetry = startTelemetry({
    serviceName: process.env.SERVICE_NAME || process.env.npm_package_name || 'tgbridge',
  });
  onShutdown(() => telemetry.shutdown(), { name: 'telemetry', order: 1000 });
}
