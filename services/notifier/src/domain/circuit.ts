/**
 * Circuit breaker per endpoint (per replica, in memory). Closed: requests
 * flow. When, over the last `windowMs` (default 5 min), at least
 * `minAttempts` (10) attempts were made and at least `failureRatio` (70 %)
 * failed, it opens: the endpoint is paused for `cooldownMs`. Then it is
 * half-open: one probe at a time; a success closes it (and clears the
 * window), a failure opens it again. Outcomes are counted in
 * {@link WINDOW_BUCKETS} time buckets (a sliding window as in
 * resilience4j's time-based one), so recording allocates nothing.
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

/** Buckets the window is counted in (each windowMs / 300 wide: 1 s of 5 min). */
export const WINDOW_BUCKETS = 300;

/** Ring index of a time slot (slots before 1970 included). */
function bucketOf(slot: number): number {
  return ((slot % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
}

/** One endpoint's breaker. */
export class CircuitBreaker {
  readonly #windowMs: number;
  readonly #minAttempts: number;
  readonly #ratio: number;
  readonly #cooldownMs: number;
  /** Width of a bucket (ms). */
  readonly #bucketMs: number;
  /** Attempts and failures per bucket; bucket of time t: floor(t / #bucketMs) % WINDOW_BUCKETS. */
  readonly #attempts = new Uint32Array(WINDOW_BUCKETS);
  readonly #failed = new Uint32Array(WINDOW_BUCKETS);
  /** floor(t / #bucketMs) of the newest outcome counted. */
  #slot = -Infinity;
  /** Sums over the buckets. */
  #total = 0;
  #failures = 0;
  #openUntil = 0;
  #probing = false;
  #state: CircuitState = 'closed';

  constructor(opts: CircuitOptions) {
    this.#windowMs = opts.windowMs ?? 300_000;
    this.#minAttempts = opts.minAttempts ?? 10;
    this.#ratio = opts.failureRatio ?? 0.7;
    this.#cooldownMs = opts.cooldownMs;
    this.#bucketMs = Math.max(1, Math.ceil(this.#windowMs / WINDOW_BUCKETS));
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
        this.#clear();
      } else {
        this.#open(now);
      }
      return;
    }
    const slot = Math.floor(now / this.#bucketMs);
    if (slot > this.#slot) {
      // buckets that fell out of the window since the last outcome start empty
      const from = Math.max(this.#slot + 1, slot - WINDOW_BUCKETS + 1);
      for (let s = from; s <= slot; s++) {
        const i = bucketOf(s);
        this.#total -= this.#attempts[i]!;
        this.#failures -= this.#failed[i]!;
        this.#attempts[i] = 0;
        this.#failed[i] = 0;
      }
      this.#slot = slot;
    }
    // an earlier time than the newest (clock stepped back) counts in the newest bucket
    const i = bucketOf(this.#slot);
    this.#attempts[i]!++;
    this.#total++;
    if (!ok) {
      this.#failed[i]!++;
      this.#failures++;
    }
    if (this.#state === 'closed' && this.#total >= this.#minAttempts) {
      if (this.#failures / this.#total >= this.#ratio) this.#open(now);
    }
  }

  #clear(): void {
    this.#attempts.fill(0);
    this.#failed.fill(0);
    this.#total = 0;
    this.#failures = 0;
  }

  #open(now: number): void {
    this.#state = 'open';
    this.#openUntil = now + this.#cooldownMs;
    this.#probing = false;
  }
}
