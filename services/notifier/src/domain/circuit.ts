/**
 * Circuit breaker per endpoint (per replica, in memory). Closed: requests
 * flow. When, over the last `windowMs` (default 5 min), at least
 * `minAttempts` (10) attempts were made and at least `failureRatio` (70 %)
 * failed, it opens: the endpoint is paused for `cooldownMs`. Then it is
 * half-open: one probe at a time; a success closes it (and clears the
 * window), a failure opens it again.
 */

/** Breaker state; exported as metric values 0, 1, 2. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** Numeric value of a state for the `notifier_circuit_state` gauge. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = {
  closed: 0,
  open: 1,
  half_open: 2,
};

/** Options of {@link CircuitBreaker}. */
export interface CircuitOptions {
  windowMs?: number;
  minAttempts?: number;
  failureRatio?: number;
  cooldownMs: number;
}

/** One endpoint's breaker. */
export class CircuitBreaker {
  readonly #windowMs: number;
  readonly #minAttempts: number;
  readonly #ratio: number;
  readonly #cooldownMs: number;
  #events: Array<{ at: number; ok: boolean }> = [];
  #openUntil = 0;
  #probing = false;
  #state: CircuitState = 'closed';

  constructor(opts: CircuitOptions) {
    this.#windowMs = opts.windowMs ?? 300_000;
    this.#minAttempts = opts.minAttempts ?? 10;
    this.#ratio = opts.failureRatio ?? 0.7;
    this.#cooldownMs = opts.cooldownMs;
  }

  /** Current state at `now` (open turns half-open once the cooldown passed). */
  state(now = Date.now()): CircuitState {
    if (this.#state === 'open' && now >= this.#openUntil) this.#state = 'half_open';
    return this.#state;
  }

  /**
   * Whether a request may start now. In half-open state only one probe runs
   * at a time; the caller must then call {@link record}.
   */
  allow(now = Date.now()): boolean {
    const s = this.state(now);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** When an open circuit allows a probe (epoch ms); 0 when not open. */
  get openUntil(): number {
    return this.#state === 'open' ? this.#openUntil : 0;
  }

  /** Records the outcome of a request started with allow(). */
  record(ok: boolean, now = Date.now()): void {
    if (this.#state === 'half_open') {
      this.#probing = false;
      if (ok) {
        this.#state = 'closed';
        this.#events = [];
      } else {
        this.#open(now);
      }
      return;
    }
    this.#events.push({ at: now, ok });
    const cutoff = now - this.#windowMs;
    while (this.#events.length > 0 && this.#events[0]!.at < cutoff) this.#events.shift();
    if (this.#events.length > 10_000) this.#events.splice(0, this.#events.length - 10_000);
    if (this.#state === 'closed' && this.#events.length >= this.#minAttempts) {
      const failures = this.#events.reduce((n, e) => n + (e.ok ? 0 : 1), 0);
      if (failures / this.#events.length >= this.#ratio) this.#open(now);
    }
  }

  #open(now: number): void {
    this.#state = 'open';
    this.#openUntil = now + this.#cooldownMs;
    this.#probing = false;
  }
}
