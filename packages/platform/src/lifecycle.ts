/**
 * Graceful shutdown. Components register close hooks with an order; on
 * SIGTERM/SIGINT the hooks run in ascending order (hooks with the same order
 * run concurrently), all within a deadline. Then the process exits:
 * 0 when every hook finished, 1 when a hook failed or the deadline was hit.
 * A second signal while shutting down exits immediately (code 130).
 *
 * Suggested orders ({@link ShutdownOrder}): 0 stop intake (close the HTTP
 * / gRPC server, stop consumers), 100 drain (NATS drain, in-flight work),
 * 200 close stores (MongoDB), 1000 telemetry flush.
 */
import type { Logger } from 'pino';

/** Conventional hook orders. */
export const ShutdownOrder = { intake: 0, drain: 100, close: 200, telemetry: 1000 } as const;

/** A registered close hook. */
export interface ShutdownHook {
  name: string;
  order: number;
  fn: () => unknown;
}

/** Outcome of {@link ShutdownRegistry.run}. */
export interface ShutdownResult {
  /** True when every hook resolved before the deadline. */
  ok: boolean;
  /** True when the deadline was hit. */
  timedOut: boolean;
  /** Names of hooks that threw, with the error message. */
  failed: Array<{ name: string; error: string }>;
}

/** An ordered set of close hooks. The process-wide one is used by {@link onShutdown}. */
export class ShutdownRegistry {
  #hooks: ShutdownHook[] = [];
  #running: Promise<ShutdownResult> | undefined;

  /**
   * Registers `fn` (sync or async).
   *
   * @returns a function that unregisters it
   */
  add(fn: () => unknown, opts: { name?: string; order?: number } = {}): () => void {
    const hook: ShutdownHook = {
      fn,
      name: opts.name ?? (fn.name || 'anonymous'),
      order: opts.order ?? 0,
    };
    this.#hooks.push(hook);
    return () => {
      this.#hooks = this.#hooks.filter((h) => h !== hook);
    };
  }

  /** True once run() was called. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Runs all hooks once (later calls return the same promise).
   *
   * @param timeoutMs overall deadline; hooks still pending are abandoned
   */
  run(opts: { timeoutMs: number; logger?: Logger }): Promise<ShutdownResult> {
    this.#running ??= this.#run(opts);
    return this.#running;
  }

  async #run({
    timeoutMs,
    logger,
  }: {
    timeoutMs: number;
    logger?: Logger;
  }): Promise<ShutdownResult> {
    const failed: ShutdownResult['failed'] = [];
    const orders = [...new Set(this.#hooks.map((h) => h.order))].sort((a, b) => a - b);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const work = (async () => {
      for (const order of orders) {
        const group = this.#hooks.filter((h) => h.order === order);
        await Promise.all(
          group.map(async (hook) => {
            const started = Date.now();
            try {
              await hook.fn();
              logger?.debug({ hook: hook.name, ms: Date.now() - started }, 'shutdown hook done');
            } catch (err) {
              failed.push({
                name: hook.name,
                error: err instanceof Error ? err.message : String(err),
              });
              logger?.error({ hook: hook.name, err }, 'shutdown hook failed');
            }
          }),
        );
      }
      return 'done' as const;
    })();
    const outcome = await Promise.race([work, deadline]);
    clearTimeout(timer);
    const timedOut = outcome === 'timeout';
    return { ok: !timedOut && failed.length === 0, timedOut, failed };
  }
}

const registry = new ShutdownRegistry();

/**
 * Registers a close hook in the process-wide registry.
 *
 * @param opts.order lower runs first (see {@link ShutdownOrder}); default 0
 * @returns unregister function
 */
export function onShutdown(
  fn: () => unknown,
  opts: { name?: string; order?: number } = {},
): () => void {
  return registry.add(fn, opts);
}

/** Runs the process-wide hooks (for `app.stop()` in tests); does not exit. */
export function runShutdown(opts: { timeoutMs: number; logger?: Logger }): Promise<ShutdownResult> {
  return registry.run(opts);
}

let installed = false;

/**
 * Installs SIGTERM/SIGINT handlers (once per process) that run the
 * process-wide hooks and exit. Also turns an uncaught exception or unhandled
 * rejection into a logged fatal error, a shutdown and exit code 1.
 *
 * @param opts.timeoutMs shutdown deadline (SHUTDOWN_TIMEOUT_MS)
 * @param opts.exit injectable for tests (default `process.exit`)
 */
export function installSignalHandlers(opts: {
  logger: Logger;
  timeoutMs: number;
  exit?: (code: number) => void;
}): void {
  if (installed) return;
  installed = true;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const { logger, timeoutMs } = opts;

  const shutdown = async (reason: string, failure: boolean): Promise<void> => {
    logger.info({ reason, timeoutMs }, 'shutting down');
    const result = await registry.run({ timeoutMs, logger });
    if (result.timedOut) logger.error({ timeoutMs }, 'shutdown deadline hit, exiting');
    else logger.info({ failed: result.failed.length }, 'shutdown complete');
    logger.flush?.();
    exit(result.ok && !failure ? 0 : 1);
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (registry.running) {
        logger.warn({ signal }, 'second signal during shutdown, exiting now');
        logger.flush?.();
        exit(130);
        return;
      }
      void shutdown(signal, false);
    });
  }
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    if (!registry.running) void shutdown('uncaughtException', true);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled promise rejection');
    if (!registry.running) void shutdown('unhandledRejection', true);
  });
}
