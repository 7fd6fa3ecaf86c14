/**
 * Per-session leases in the KV bucket `tg_leases` (key = session id, value =
 * `SessionLease`, bucket TTL = lease timeout). Acquire = create-if-absent;
 * refresh = compare-and-set on the revision; release = delete guarded by the
 * revision. A lease whose refresh fails, or that was not refreshed for 3/4 of
 * its TTL (e.g. NATS unreachable), is reported lost at once so the session is
 * disconnected before anyone else can take it.
 */
import type { KV } from '@nats-io/kv';
import { SessionLease } from '@tgbridge/proto/connector/v1/connector';
import type { Logger } from '@tgbridge/platform/logging';

interface Held {
  revision: number;
  acquiredAt: Date;
  refreshedAt: number;
}

/** Leases held by this shard. */
export class Leases {
  private readonly held = new Map<string, Held>();
  private refreshing = false;

  constructor(
    private readonly kv: KV,
    private readonly shardId: string,
    private readonly instanceId: string,
    private readonly ttlMs: number,
    private readonly log: Logger,
    /**
     * Called once per lost lease (the session must disconnect now) with the
     * last revision this shard wrote; see {@link releaseLost}.
     */
    private readonly onLost: (sessionId: string, revision: number) => void,
  ) {}

  private value(sessionId: string, acquiredAt: Date): string {
    return JSON.stringify(
      SessionLease.toJSON(
        SessionLease.create({
          sessionId,
          shardId: this.shardId,
          instanceId: this.instanceId,
          acquiredAt,
          renewedAt: new Date(),
        }),
      ),
    );
  }

  /** Number of leases held. */
  get size(): number {
    return this.held.size;
  }

  /** True when this shard holds the lease. */
  holds(sessionId: string): boolean {
    return this.held.has(sessionId);
  }

  /** Takes the lease if nobody holds it. @returns false when held elsewhere (or NATS failed) */
  async acquire(sessionId: string): Promise<boolean> {
    if (this.held.has(sessionId)) return true;
    const acquiredAt = new Date();
    try {
      const revision = await this.kv.create(sessionId, this.value(sessionId, acquiredAt));
      this.held.set(sessionId, { revision, acquiredAt, refreshedAt: Date.now() });
      return true;
    } catch (e) {
      if (!/wrong last sequence|exists/i.test(String((e as Error).message)))
        this.log.warn(
          { err: { message: (e as Error).message }, session_id: sessionId },
          'lease acquire failed',
        );
      return false;
    }
  }

  /** Releases a held lease (revision-guarded delete; never throws). */
  async release(sessionId: string): Promise<void> {
    const h = this.held.get(sessionId);
    if (!h) return;
    this.held.delete(sessionId);
    try {
      await this.kv.delete(sessionId, { previousSeq: h.revision });
    } catch {
      // already expired or taken over: nothing to release
    }
  }

  /** Forgets a lease without touching KV (after it was lost). */
  forget(sessionId: string): void {
    this.held.delete(sessionId);
  }

  private lose(sessionId: string, why: string): void {
    const h = this.held.get(sessionId);
    if (!h) return;
    this.held.delete(sessionId);
    this.log.warn({ session_id: sessionId, why }, 'lease lost; disconnecting session');
    this.onLost(sessionId, h.revision);
  }

  /**
   * After a lost lease's session was disconnected: deletes the KV entry if it
   * is still the one this shard last wrote (`revision`), so the session can be
   * taken again at once instead of after the TTL. Does nothing when the entry
   * changed or expired meanwhile. Never throws.
   */
  async releaseLost(sessionId: string, revision: number): Promise<void> {
    if (this.held.has(sessionId)) return;
    try {
      await this.kv.delete(sessionId, { previousSeq: revision });
    } catch {
      // taken over or expired: nothing to release
    }
  }

  /**
   * Refreshes every held lease by compare-and-set (at most `concurrency` in
   * flight, so 1,000 leases take a few round trips) and drops leases past
   * their local deadline (3/4 of the TTL since the last successful refresh).
   * Call on a shared timer.
   */
  async refreshAll(concurrency = 256): Promise<void> {
    const now = Date.now();
    for (const [id, h] of this.held)
      if (now - h.refreshedAt > this.ttlMs * 0.75) this.lose(id, 'deadline');
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const ids = [...this.held.keys()];
      let i = 0;
      const worker = async (): Promise<void> => {
        while (i < ids.length) {
          const id = ids[i++]!;
          const h = this.held.get(id);
          if (!h) continue;
          try {
            const revision = await this.kv.update(id, this.value(id, h.acquiredAt), h.revision);
            const cur = this.held.get(id);
            if (cur === h) {
              h.revision = revision;
              h.refreshedAt = Date.now();
            }
          } catch (e) {
            if (this.held.get(id) === h) this.lose(id, String((e as Error).message));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    } finally {
      this.refreshing = false;
    }
  }

  /** Held session ids. */
  ids(): string[] {
    return [...this.held.keys()];
  }
}
