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
  lane.finish(lane.sessions.get(d.sessionId)!, d, d.sessionId);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('lane state', () => {
  it('forgets finished deliveries after DONE_KEEP_MS without a reload', () => {
    vi.useFakeTimers();
    const lane = new LaneState('ep:0', 'ep');
    for (let i = 1; i <= 1000; i++) deliver(lane, i);
    expect(lane.done.size).toBe(1000);
    // a finished delivery read again from the queue is not taken back while remembered
    expect(lane.add(doc(1))).toBe(false);
    vi.advanceTimersByTime(DONE_KEEP_MS + 1);
    deliver(lane, 1001);
    expect([...lane.done.keys()]).toEqual(['ep.evt_1001']);
  });

  it('a delivery finished again moves to the end and is kept for the full time', () => {
    vi.useFakeTimers();
    const lane = new LaneState('ep:0', 'ep');
    deliver(lane, 1);
    deliver(lane, 2);
    vi.advanceTimersByTime(DONE_KEEP_MS / 2);
    // replayed (more attempts) and finished again
    const again = { ...doc(1), attempts: 1 };
    expect(lane.add(again)).toBe(true);
    again.attempts = 2;
    lane.finish(lane.sessions.get('s1')!, again, 's1');
    vi.advanceTimersByTime(DONE_KEEP_MS / 2 + 1);
    deliver(lane, 3);
    expect([...lane.done.keys()]).toEqual(['ep.evt_1', 'ep.evt_3']);
  });
});
