/**
 * Coalesces many small store operations into few large ones: items added
 * within `delayMs` of each other (or up to `maxBatch` of them) are handed to
 * `run` together, and each caller gets its own item's result. Used so that a
 * shard starting 1,000 sessions reads their documents with a handful of
 * `$in` queries and writes their status with a few `updateMany` calls instead
 * of thousands of single-document operations (which serialize on the
 * MongoDB-wire server's write lock).
 */
export class Batcher<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param run processes a batch; must resolve with one result per item, in order
   * @param opts.maxBatch items per call of `run`
   * @param opts.delayMs how long the first item of a batch waits for company
   */
  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly opts: { maxBatch: number; delayMs: number },
  ) {}

  /** Queues `item`; resolves with its result, rejects when its batch failed. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.delayMs);
    });
  }

  /** Starts processing everything queued now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.run(batch.map((b) => b.item)).then(
        (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      );
    }
  }
}
