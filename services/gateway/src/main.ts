/**
 * Gateway process entry: telemetry first (so HTTP, gRPC and MongoDB are
 * instrumented), then configuration, then start; SIGTERM/SIGINT stop it
 * gracefully within SHUTDOWN_TIMEOUT_MS.
 */
import '@tgbridge/platform/telemetry-register';
import { exitOnStartupError } from '@tgbridge/platform/config';
import { installSignalHandlers, onShutdown, ShutdownOrder } from '@tgbridge/platform/lifecycle';
import { createLogger } from '@tgbridge/platform/logging';
import { createGateway } from './app.js';
import { loadGatewayConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  installSignalHandlers({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  const gateway = createGateway(config, { logger });
  onShutdown(() => gateway.stop(), { name: 'gateway', order: ShutdownOrder.intake });
  await gateway.start();
}

main().catch((err) => exitOnStartupError(err, 'gateway'));
