/**
 * Update-state bookkeeping of one account (https://core.telegram.org/api/updates):
 * the common box (pts, qts, date, seq) and per-channel pts. The connector
 * checks every pts-carrying update against the local state and asks for the
 * difference on a gap.
 */
import type { UpdateStateDoc } from '@tgbridge/sessions';

/** Update state; `channels` maps a channel id (decimal string) to its pts. */
export type UpdateState = UpdateStateDoc;

/** What to do with an update carrying (pts, pts_count). */
export type PtsVerdict = 'apply' | 'skip' | 'gap';

/**
 * Telegram's pts rule: apply when local + pts_count == pts; already applied
 * when local + pts_count > pts; otherwise updates are missing (a gap: call
 * getDifference / getChannelDifference).
 */
export function checkPts(local: number, pts: number, ptsCount: number): PtsVerdict {
  if (local + ptsCount === pts) return 'apply';
  if (local + ptsCount > pts) return 'skip';
  return 'gap';
}

/** A deep copy of a state (states are mutated in place while processing). */
export function cloneState(s: UpdateState): UpdateState {
  return { pts: s.pts, qts: s.qts, date: s.date, seq: s.seq, channels: { ...s.channels } };
}

/** True when both states are equal. */
export function sameState(a: UpdateState | undefined, b: UpdateState | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.pts !== b.pts || a.qts !== b.qts || a.date !== b.date || a.seq !== b.seq) return false;
  const ka = Object.keys(a.channels);
  if (ka.length !== Object.keys(b.channels).length) return false;
  return ka.every((k) => a.channels[k] === b.channels[k]);
}
