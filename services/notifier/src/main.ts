/**
 * Notifier process entry: telemetry first, then configuration, then start;
 * SIGTERM/SIGINT stop it gracefully within SHUTDOWN_TIMEOUT_MS. Metrics and
 * probes are served on METRICS_PORT (`/metrics`, `/healthz`, `/readyz`).
 */
import '@tgbridge/platform/telemetry-register';
import { exitOnStartupError } from '@tgbridge/platform/config';
import { installSignalHandlers, onShutdown, ShutdownOrder } from '@tgbridge/platform/lifecycle';
import { createLogger } from '@tgbridge/platform/logging';
import { createNotifier } from './app.js';
import { loadNotifierConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadNotifierConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  installSignalHandlers({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  const notifier = createNotifier(config, { logger });
  onShutdown(() => notifier.stop(), { name: 'notifier', order: ShutdownOrder.intake });
  await notifier.start();
}

main().catch((err) => exitOnStartupError(err, 'notifier'));
