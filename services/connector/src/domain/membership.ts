/**
 * Shard membership: every shard heartbeats `ShardHeartbeat` into the KV
 * bucket `tg_shards` (key = shard id, bucket TTL = membership timeout) and
 * watches the bucket. A shard is a member while its last heartbeat (server
 * timestamp) is younger than the TTL; a clean shutdown deletes the key so the
 * others react at once.
 */
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { ShardHeartbeat } from '@tgbridge/proto/connector/v1/connector';
import type { Logger } from '@tgbridge/platform/logging';

/** Membership settings (ms). */
export interface MembershipOptions {
  shardId: string;
  instanceId: string;
  ttlMs: number;
  heartbeatMs: number;
  version: string;
  /** Live sessions to report in the heartbeat. */
  liveSessions(): number;
}

/** This shard's view of the live members. */
export class Membership {
  private readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private watcher: { stop(): void } | undefined;
  private readonly startedAt = new Date();
  private readonly listeners = new Set<() => void>();
  private lastKey = '';

  constructor(
    private readonly kv: KV,
    private readonly o: MembershipOptions,
    private readonly log: Logger,
  ) {}

  /** Live member ids (this shard included while started), sorted. */
  members(): string[] {
    const now = Date.now();
    const out: string[] = [];
    for (const [id, at] of this.seen)
      if (now - at < this.o.ttlMs || id === this.o.shardId) out.push(id);
    return out.sort();
  }

  /** Registers a callback for membership changes. */
  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  private changed(): void {
    const key = this.members().join(',');
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.log.info({ members: this.members() }, 'membership changed');
    for (const fn of this.listeners) fn();
  }

  private async beat(): Promise<void> {
    const hb = ShardHeartbeat.create({
      shardId: this.o.shardId,
      instanceId: this.o.instanceId,
      startedAt: this.startedAt,
      heartbeatAt: new Date(),
      liveSessions: this.o.liveSessions(),
      version: this.o.version,
    });
    await this.kv.put(this.o.shardId, JSON.stringify(ShardHeartbeat.toJSON(hb)));
  }

  /** Writes the first heartbeat, starts watching and heartbeating. */
  async start(): Promise<void> {
    await this.beat();
    this.seen.set(this.o.shardId, Date.now());
    // seed the view with the current members before the first placement pass
    const keys = await this.kv.keys();
    for await (const k of keys) {
      const e = await this.kv.get(k);
      if (e && e.operation === 'PUT') this.seen.set(k, Math.min(Date.now(), e.created.getTime()));
    }
    this.seen.set(this.o.shardId, Date.now());
    const iter = await this.kv.watch({ key: '>' });
    this.watcher = iter;
    void (async () => {
      for await (const e of iter as AsyncIterable<KvWatchEntry>) {
        if (e.operation === 'PUT') this.seen.set(e.key, Math.min(Date.now(), e.created.getTime()));
        else if (e.key !== this.o.shardId) this.seen.delete(e.key);
        this.changed();
      }
    })().catch((err: unknown) => this.log.error({ err }, 'membership watch ended'));
    this.timer = setInterval(() => {
      this.beat()
        .then(() => this.seen.set(this.o.shardId, Date.now()))
        .catch((err: unknown) =>
          this.log.warn({ err: { message: (err as Error).message } }, 'heartbeat failed'),
        );
      this.changed();
    }, this.o.heartbeatMs);
    this.changed();
  }

  /** Stops heartbeating and deletes this shard's key (others rebalance at once). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.watcher?.stop();
    this.seen.delete(this.o.shardId);
    await this.kv.delete(this.o.shardId).catch(() => {});
  }
}
