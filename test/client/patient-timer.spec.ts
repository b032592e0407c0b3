import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { PatientTimer } from '../../lib/client/patient-timer.js';

/**
 * Fake timers run the callbacks; the wall clock is moved by hand, so a stall (the clock moves on,
 * no timer runs) can be told apart from time passing in a running loop.
 */
describe('PatientTimer', () => {
  let now = 0;
  let calls = 0;
  let timer: PatientTimer;
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['Date'] });
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    calls = 0;
    timer = new PatientTimer(() => calls++);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** Time passes in a running loop: the clock and the timers together, a millisecond at a time. */
  const run = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      now++;
      jest.advanceTimersByTime(1);
    }
  };
  /** The loop stalls: the clock moves, no timer runs; `jest.advanceTimersByTime` then runs the due ones. */
  const stall = (ms: number) => {
    now += ms;
  };

  it('calls back once, on time, in a running loop', () => {
    timer.start(1000);
    run(999);
    expect(calls).toBe(0);
    expect(timer.armed).toBe(true);
    run(1);
    expect(calls).toBe(1);
    expect(timer.armed).toBe(false);
    run(10_000);
    expect(calls).toBe(1);
  });

  it('calls back at once when late by no more than the slack (20 ms, or a quarter of a short delay)', () => {
    timer.start(1000);
    stall(1020); // due at 1000, runs at 1020
    jest.advanceTimersByTime(1000);
    expect(calls).toBe(1);

    timer.start(40);
    stall(50); // 10 ms late: a quarter of 40
    jest.advanceTimersByTime(40);
    expect(calls).toBe(2);
  });

  it('after a stall, takes a grace hop first: what arrived meanwhile cancels it', () => {
    timer.start(1000);
    stall(3000);
    jest.advanceTimersByTime(1000); // the late firing: no verdict yet
    expect(calls).toBe(0);
    expect(timer.armed).toBe(true);
    timer.cancel(); // the awaited frame, read in the poll phase before the hop
    run(1000);
    expect(calls).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('after a stall, calls back on the hop when nothing arrived', () => {
    timer.start(1000);
    stall(3000);
    jest.advanceTimersByTime(1000);
    expect(calls).toBe(0);
    run(10);
    expect(calls).toBe(1);
    expect(timer.armed).toBe(false);
  });

  it('calls back on the hop even when the hop runs late too (a loop that keeps stalling, a throttled tab)', () => {
    timer.start(1000);
    stall(3000);
    jest.advanceTimersByTime(1000);
    stall(5000);
    jest.advanceTimersByTime(10);
    expect(calls).toBe(1);
  });

  it('takes the hop after a stall that ends just past the due time (what arrived before it is unread too)', () => {
    timer.start(10_000);
    run(9000);
    stall(1025); // a stall from 9 000 to 10 025 ms
    jest.advanceTimersByTime(1000); // the deadline runs 25 ms late
    expect(calls).toBe(0);
    run(10);
    expect(calls).toBe(1);
  });

  it('keeps one timer per deadline: start replaces, cancel clears, the hop replaces the first', () => {
    timer.start(1000);
    timer.start(2000);
    expect(jest.getTimerCount()).toBe(1);
    stall(5000);
    jest.advanceTimersByTime(2000);
    expect(jest.getTimerCount()).toBe(1); // the hop
    timer.start(500); // re-armed while the hop waits: judged afresh
    expect(jest.getTimerCount()).toBe(1);
    run(500);
    expect(calls).toBe(1);
    timer.start(100);
    timer.cancel();
    expect(jest.getTimerCount()).toBe(0);
    expect(timer.armed).toBe(false);
  });
});
