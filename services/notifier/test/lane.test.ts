/**
 * A lane's in-memory state: what it remembers of finished deliveries is
 * bounded in time even when the lane is held for hours without a reload.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { QueueDoc } from '../src/infra/collections.js';
import { DONE_KEEP_MS, LaneState } from '../src/delivery/lane.js';
import { queueEntry } from './harness.js';

function doc(i: number): QueueDoc {
  return queueEntry({ endpointId: 'ep', lane: 'ep:0', eventId: `evt_${i}`, streamSeq: i });
}

/** Adds delivery `i`, attempts it once and finishes it, as the engine does. */
function deliver(lane: LaneState, i: number): void {
  const d = doc(i);
  expect(lane.add(d)).toBe(true);
  d.attempts = 1;
  lane.finish(lane.sessions.get(d.sessionId)!, d);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('lane state', () => {
  it('remembers a finished delivery at least DONE_KEEP_MS, at most twice that, without a reload', () => {
    vi.useFakeTimers();
    const lane = new LaneState('ep:0', 'ep');
    for (let i = 1; i <= 1000; i++) deliver(lane, i);
    expect(lane.rememberedCount).toBe(1000);
    // a finished delivery read again from the queue is not taken back while remembered
    expect(lane.add(doc(1))).toBe(false);
    vi.advanceTimersByTime(DONE_KEEP_MS + 1);
    deliver(lane, 1001);
    expect(lane.finishedAttempts('ep.evt_1')).toBe(1);
    expect(lane.add(doc(1))).toBe(false);
    vi.advanceTimersByTime(DONE_KEEP_MS);
    deliver(lane, 1002);
    expect(lane.finishedAttempts('ep.evt_1')).toBeUndefined();
    expect(lane.finishedAttempts('ep.evt_1001')).toBe(1);
    expect(lane.rememberedCount).toBe(2);
    expect(lane.add(doc(1))).toBe(true);
  });

  it('a delivery finished again is remembered with its latest attempts', () => {
    const lane = new LaneState('ep:0', 'ep');
    deliver(lane, 1);
    // replayed (more attempts) and finished again
    const again = { ...doc(1), attempts: 1 };
    expect(lane.add(again)).toBe(true);
    again.attempts = 2;
    lane.finish(lane.sessions.get('s1')!, again);
    expect(lane.finishedAttempts('ep.evt_1')).toBe(2);
    expect(lane.add({ ...doc(1), attempts: 1 })).toBe(false);
    expect(lane.add({ ...doc(1), attempts: 2 })).toBe(true);
  });

  it("keeps a session's emptied queue for its next delivery", () => {
    const lane = new LaneState('ep:0', 'ep');
    deliver(lane, 1);
    const q = lane.sessions.get('s1')!;
    expect(q.items).toEqual([]);
    expect(q.emptySince).toBeGreaterThan(0);
    expect(lane.size()).toBe(0);
    expect(lane.add(doc(2))).toBe(true);
    expect(lane.sessions.get('s1')).toBe(q);
    expect(q.emptySince).toBe(0);
  });
});
