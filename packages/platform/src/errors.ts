/**
 * Base error of tgbridge. `code` is a stable machine string (UPPER_SNAKE,
 * e.g. `CONFIG_INVALID`, `DECRYPTION_FAILED`) that callers and APIs may
 * switch on; `message` is safe to log and to show: it never contains
 * secrets, session strings, codes or passwords. `details` holds extra
 * non-secret data for logs/API bodies.
 */
export class AppError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  /** Extra, non-secret context. */
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    opts: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    if (opts.details) this.details = opts.details;
  }

  /** JSON form for logs and API error bodies: `{code, message, details?}`. */
  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** True when `err` is an {@link AppError}, optionally with the given code. */
export function isAppError(err: unknown, code?: string): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/**
 * Invalid or missing configuration. `problems` has one line per problem
 * (`NAME: what is wrong`), never the value of a secret. `message` joins them.
 * Code: `CONFIG_INVALID`.
 */
export class ConfigError extends AppError {
  readonly problems: string[];

  constructor(problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
