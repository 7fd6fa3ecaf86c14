/**
 * The per-endpoint circuit breaker (domain/circuit.ts): opens at ≥ 70 %
 * failures over the window with ≥ 10 attempts, lets one probe through
 * after the cooldown, closes on its success. Times are passed in, so the
 * window is exercised without waiting.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/domain/circuit.js';

const opts = { cooldownMs: 1_000, windowMs: 60_000, minAttempts: 10, failureRatio: 0.7 };

describe('circuit breaker', () => {
  it('opens at 7 failures of 10, not at 6', () => {
    const six = new CircuitBreaker(opts);
    for (let i = 0; i < 10; i++) six.record(i >= 6, 1000 + i);
    expect(six.state(1010)).toBe('closed');
    const seven = new CircuitBreaker(opts);
    for (let i = 0; i < 10; i++) seven.record(i >= 7, 1000 + i);
    expect(seven.state(1010)).toBe('open');
    expect(seven.allow(1010)).toBe(false);
  });

  it('forgets outcomes older than the window (their failures no longer count)', () => {
    const cb = new CircuitBreaker(opts);
    for (let i = 0; i < 6; i++) cb.record(false, 0);
    // a window later the six failures are gone: 4 failures of 10 recent ones
    for (let i = 0; i < 6; i++) cb.record(true, 61_000);
    for (let i = 0; i < 4; i++) cb.record(false, 61_000);
    expect(cb.state(61_000)).toBe('closed');
    // kept: the same outcomes inside one window open it (10 failures of 16)
    const kept = new CircuitBreaker(opts);
    for (let i = 0; i < 6; i++) kept.record(false, 0);
    for (let i = 0; i < 6; i++) kept.record(true, 30_000);
    for (let i = 0; i < 4; i++) kept.record(false, 30_000);
    expect(kept.state(30_000)).toBe('closed'); // 10/16 = 62 %
    for (let i = 0; i < 4; i++) kept.record(false, 30_000);
    expect(kept.state(30_000)).toBe('open'); // 14/20 = 70 %
  });

  it('counts every outcome of the window, however many (per-second buckets, not a list)', () => {
    const cb = new CircuitBreaker({ ...opts, windowMs: 300_000 });
    // 4,000 successes then 7,000 failures in 5 minutes: 64 % failed
    for (let i = 0; i < 4_000; i++) cb.record(true, i * 10);
    for (let i = 0; i < 7_000; i++) cb.record(false, 40_000 + i * 10);
    expect(cb.state(110_000)).toBe('closed');
    // 2,400 more make 70 %
    for (let i = 0; i < 2_400; i++) cb.record(false, 110_000 + i * 10);
    expect(cb.state(134_000)).toBe('open');
  });

  it('after the cooldown one probe goes through; its success closes the circuit', () => {
    const cb = new CircuitBreaker(opts);
    for (let i = 0; i < 10; i++) cb.record(false, 0);
    expect(cb.allow(500)).toBe(false);
    expect(cb.allow(1_000)).toBe(true); // the probe
    expect(cb.allow(1_001)).toBe(false); // only one at a time
    cb.record(true, 1_050);
    expect(cb.state(1_050)).toBe('closed');
    // a fresh window: one failure does not reopen it
    cb.record(false, 1_060);
    expect(cb.state(1_060)).toBe('closed');
  });

  it('a failed probe opens it for another cooldown', () => {
    const cb = new CircuitBreaker(opts);
    for (let i = 0; i < 10; i++) cb.record(false, 0);
    expect(cb.allow(1_000)).toBe(true);
    cb.record(false, 1_000);
    expect(cb.state(1_500)).toBe('open');
    expect(cb.openUntil).toBe(2_000);
  });
});
