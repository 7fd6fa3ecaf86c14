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

/** Outcomes kept in the window at most (the oldest are dropped beyond it). */
const MAX_WINDOW_EVENTS = 10_000;

/** One endpoint's breaker. */
export class CircuitBreaker {
  readonly #windowMs: number;
  readonly #minAttempts: number;
  readonly #ratio: number;
  readonly #cooldownMs: number;
  #events: Array<{ at: number; ok: boolean }> = [];
  /** Failures among #events (kept as a count: record() runs once per attempt). */
  #failures = 0;
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
        this.#failures = 0;
      } else {
        this.#open(now);
      }
      return;
    }
    this.#events.push({ at: now, ok });
    if (!ok) this.#failures++;
    const cutoff = now - this.#windowMs;
    const events = this.#events;
    // shift(): V8 trims the array's start in place, no copy
    while (events.length > 0 && (events[0]!.at < cutoff || events.length > MAX_WINDOW_EVENTS)) {
      if (!events.shift()!.ok) this.#failures--;
    }
    if (this.#state === 'closed' && events.length >= this.#minAttempts) {
      if (this.#failures / events.length >= this.#ratio) this.#open(now);
    }
  }

  #open(now: number): void {
    this.#state = 'open';
    this.#openUntil = now + this.#cooldownMs;
    this.#probing = false;
  }
}
