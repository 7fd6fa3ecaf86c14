/** A running (or externally provided) server. */
export interface ServerHandle {
  /** Connection URL (`nats://127.0.0.1:PORT` or `mongodb://127.0.0.1:PORT/`). */
  url: string;
  /** Where it came from, e.g. `NATS_URL`, `nats-server 2.10.29 (cache)`, `ferretdb (cache)`. */
  source: string;
  /** OS pid of the server process when testinfra spawned it. */
  pid?: number;
  /** Store directory (temp dir, removed by stop(), unless `dataDir` was given). */
  dataDir?: string;
  /**
   * Stops the server (SIGTERM, SIGKILL after a deadline), waits until the
   * process is gone, removes temp dirs. A no-op for URLs taken from the env.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/** Options shared by {@link startNats} and {@link startMongo}. */
export interface StartOptions {
  /**
   * Use `NATS_URL` / `MONGO_URL` from the environment when set (default
   * true). Pass false to always start a private server.
   */
  reuseEnv?: boolean;
  /**
   * Persistent data directory (the local stack): the store lives in
   * `<dataDir>/nats` or `<dataDir>/mongo` and survives stop(). Default: a
   * temp dir removed by stop().
   */
  dataDir?: string;
  /** Fixed port (default: a free port chosen by the OS). */
  port?: number;
  /** Readiness deadline in ms (default 30 000). */
  readyTimeoutMs?: number;
}
