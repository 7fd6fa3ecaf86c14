import type { AccountRecord, LogEntry, StoredChannelUpdate, StoredUpdate } from './types.js';
import { nowSeconds } from './ids.js';

/**
 * Per-account common-box update state (pts, qts, seq, date) and update logs,
 * plus per-channel update logs. `updates.getDifference` /
 * `updates.getChannelDifference` read from here
 * (https://core.telegram.org/api/updates).
 */
export class UpdateLogs {
  private readonly accounts = new Map<number, AccountRecord>();
  private readonly channelLogs = new Map<number, LogEntry<StoredChannelUpdate>[]>();

  /** @param maxLogLength entries kept per account/channel; older gaps answer differenceTooLong. */
  constructor(readonly maxLogLength = 20_000) {}

  /** The account record of `userId`, created on first use. */
  account(userId: number): AccountRecord {
    let acc = this.accounts.get(userId);
    if (!acc) {
      acc = { userId, pts: 1, qts: 0, seq: 0, date: nowSeconds(), nextMessageId: 1, log: [] };
      this.accounts.set(userId, acc);
    }
    return acc;
  }

  /** Appends a common-box update for `userId`, advancing its pts by `ptsCount`. */
  append(userId: number, u: StoredUpdate, ptsCount = 1): LogEntry {
    const acc = this.account(userId);
    acc.pts += ptsCount;
    acc.date = Math.max(acc.date, nowSeconds());
    const entry: LogEntry = { pts: acc.pts, ptsCount, date: acc.date, u };
    acc.log.push(entry);
    if (acc.log.length > this.maxLogLength) acc.log.splice(0, acc.log.length - this.maxLogLength);
    return entry;
  }

  /** Entries of `userId` with pts greater than `pts` (what a client at `pts` missed), or `undefined` if the log no longer reaches back that far. */
  since(userId: number, pts: number): LogEntry[] | undefined {
    const acc = this.account(userId);
    const first = acc.log[0];
    if (first && first.pts - first.ptsCount > pts) return undefined;
    if (!first && pts < acc.pts) return undefined;
    return acc.log.filter((e) => e.pts > pts);
  }

  /** Appends a channel update; `pts` is the channel's pts after the update (already advanced by the caller). */
  appendChannel(
    channelId: number,
    pts: number,
    u: StoredChannelUpdate,
    ptsCount = 1,
  ): LogEntry<StoredChannelUpdate> {
    let log = this.channelLogs.get(channelId);
    if (!log) {
      log = [];
      this.channelLogs.set(channelId, log);
    }
    const entry = { pts, ptsCount, date: nowSeconds(), u };
    log.push(entry);
    if (log.length > this.maxLogLength) log.splice(0, log.length - this.maxLogLength);
    return entry;
  }

  /** Channel entries with pts greater than `pts`, or `undefined` when the log does not reach back that far. */
  channelSince(
    channelId: number,
    currentPts: number,
    pts: number,
  ): LogEntry<StoredChannelUpdate>[] | undefined {
    const log = this.channelLogs.get(channelId) ?? [];
    const first = log[0];
    if (first && first.pts - first.ptsCount > pts) return undefined;
    if (!first && pts < currentPts) return undefined;
    return log.filter((e) => e.pts > pts);
  }

  /** Date (Unix s) of the last update of a channel, 0 if none. */
  channelLastDate(channelId: number): number {
    const log = this.channelLogs.get(channelId);
    return log?.[log.length - 1]?.date ?? 0;
  }

  toJSON(): {
    accounts: AccountRecord[];
    channels: Array<[number, LogEntry<StoredChannelUpdate>[]]>;
  } {
    return { accounts: [...this.accounts.values()], channels: [...this.channelLogs.entries()] };
  }

  load(data: {
    accounts: AccountRecord[];
    channels: Array<[number, LogEntry<StoredChannelUpdate>[]]>;
  }): void {
    for (const a of data.accounts) this.accounts.set(a.userId, a);
    for (const [id, log] of data.channels) this.channelLogs.set(id, log);
  }
}
