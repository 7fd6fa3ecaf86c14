/**
 * Connector process entry: configuration, start, and graceful shutdown on
 * SIGTERM/SIGINT (disconnect every session, release every lease, leave
 * membership) so other shards take over at once.
 */
import { ConfigError } from '@tgbridge/platform/config';
import { loadConnectorConfig } from './config.js';
import { createApp } from './app.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConnectorConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`connector: invalid configuration\n${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = createApp(config);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      process.stderr.write(
        `connector: shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms after ${signal}; exiting\n`,
      );
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    app
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`connector: shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await app.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`connector: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
