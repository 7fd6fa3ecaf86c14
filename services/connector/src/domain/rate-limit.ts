/**
 * Per-session outbound rate limit: a token bucket with a small FIFO queue, so
 * bursts are smoothed instead of provoking FLOOD_WAIT from Telegram.
 */

/** Thrown by {@link TokenBucket.take} when the queue is full; `retryAfterS` is a hint in seconds. */
export class RateLimitedError extends Error {
  constructor(readonly retryAfterS: number) {
    super('outbound queue full');
    this.name = 'RateLimitedError';
  }
}

/** A token bucket: `ratePerS` tokens per second, at most `burst` stored, `queue` waiters. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private waiting = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly queue: number,
  ) {
    this.tokens = burst;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerS);
    this.last = now;
  }

  /**
   * Resolves when a token is available (FIFO).
   * @throws RateLimitedError when `queue` callers are already waiting.
   */
  take(): Promise<void> {
    this.refill();
    if (this.waiting === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    if (this.waiting >= this.queue) {
      return Promise.reject(
        new RateLimitedError(Math.max(1, Math.ceil((this.waiting + 1) / this.ratePerS))),
      );
    }
    this.waiting += 1;
    const next = this.chain.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        await new Promise((r) =>
          setTimeout(r, Math.ceil(((1 - this.tokens) / this.ratePerS) * 1000)),
        );
        this.refill();
      }
      this.tokens = Math.max(0, this.tokens - 1);
      this.waiting -= 1;
    });
    this.chain = next;
    return next;
  }
}
