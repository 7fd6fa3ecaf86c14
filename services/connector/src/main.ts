/**
 * Connector process entry: telemetry first (so MongoDB, HTTP and pino are
 * instrumented before they load), then configuration, then start.
 * SIGTERM/SIGINT stop the shard within SHUTDOWN_TIMEOUT_MS: every session is
 * disconnected and its lease released, the shard leaves membership (so other
 * shards take over at once), then spans are flushed.
 */
import '@tgbridge/platform/telemetry-register';
import { exitOnStartupError } from '@tgbridge/platform/config';
import { installSignalHandlers, onShutdown, ShutdownOrder } from '@tgbridge/platform/lifecycle';
import { createLogger } from '@tgbridge/platform/logging';
import { loadConnectorConfig } from './config.js';
import { createApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConnectorConfig();
  const logger = createLogger({
    service: config.SERVICE_NAME,
    level: config.LOG_LEVEL,
    base: { shard: config.SHARD_ID },
  });
  installSignalHandlers({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  const app = createApp(config, { logger });
  onShutdown(() => app.stop(), { name: 'connector', order: ShutdownOrder.intake });
  await app.start();
}

main().catch((err: unknown) => exitOnStartupError(err, 'connector'));
