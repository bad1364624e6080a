import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, sleep, systemClock } from './index.js';

describe('ManualClock', () => {
  it('fires timers in time order as time advances, and not before', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 2000);
    clock.setTimeout(() => fired.push('a'), 1000);
    clock.setTimeout(() => fired.push('c'), 3000);
    await clock.advance(1999);
    expect(fired).toEqual(['a']);
    await clock.advance(1001);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:03.000Z');
  });

  it('runs timers set by timers within the same advance, and honours clearTimeout', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const cancelled = clock.setTimeout(() => fired.push(-1), 500);
    clock.setTimeout(() => {
      fired.push(clock.now().getTime());
      clock.setTimeout(() => fired.push(clock.now().getTime()), 1000);
    }, 1000);
    clock.clearTimeout(cancelled);
    await clock.advance(5000);
    expect(fired).toEqual([1000, 2000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets async work started by a timer finish before the next timer fires', async () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    clock.setTimeout(async () => {
      await Promise.resolve();
      await new Promise<void>((r) => setImmediate(r));
      order.push('first done');
    }, 10);
    clock.setTimeout(() => order.push('second'), 20);
    await clock.advance(30);
    expect(order).toEqual(['first done', 'second']);
  });

  it('sleep resolves on the manual clock and rejects with CERTLOOP_ABORTED on abort', async () => {
    const clock = new ManualClock(0);
    let done = false;
    const p = sleep(clock, 60_000).then(() => {
      done = true;
    });
    await clock.advance(59_999);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(true);
    const abort = new AbortController();
    const q = sleep(clock, 1000, abort.signal);
    abort.abort();
    await expect(q).rejects.toMatchObject({ code: 'CERTLOOP_ABORTED' });
  });

  it('rounds fractional delays up to whole milliseconds, so nextTimerAt always leads to the timer', async () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 1234.2);
    expect(clock.nextTimerAt()?.getTime()).toBe(1235);
    await clock.advanceTo(clock.nextTimerAt()!);
    expect(fired).toBe(true);
  });

  it('jumpTo moves time without firing timers (a process that was down)', async () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 1000);
    clock.jumpTo(10_000);
    expect(fired).toBe(false);
    expect(clock.nextTimerAt()?.getTime()).toBe(1000);
    await clock.runNext();
    expect(fired).toBe(true);
  });
});

describe('ManualClock wall and monotonic readings', () => {
  it('advance moves both readings together; the monotonic origin is its own', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z', { monotonicStart: 500 });
    expect(clock.monotonicNow()).toBe(500);
    await clock.advance(1_000);
    expect(clock.monotonicNow()).toBe(1_500);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.000Z');
  });

  it('stepWall moves the wall clock alone: timers neither fire nor freeze, durations run on', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonicNow()), 1_000);
    clock.stepWall(-2 * 86_400_000); // back two days
    expect(clock.now().toISOString()).toBe('2025-12-30T00:00:00.000Z');
    expect(clock.monotonicNow()).toBe(0);
    expect(clock.nextTimerAt()?.toISOString()).toBe('2025-12-30T00:00:01.000Z');
    await clock.advance(999);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([1_000]);

    clock.stepWall(5 * 86_400_000); // forward five days: nothing fires early
    let late = false;
    clock.setTimeout(() => {
      late = true;
    }, 60_000);
    await clock.settle();
    expect(late).toBe(false);
    clock.setWall(Date.parse('2030-01-01T00:00:00Z'));
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(clock.monotonicNow()).toBe(1_000);
    await clock.advance(60_000);
    expect(late).toBe(true);
  });

  it('jumpTo backwards moves only the wall clock (monotonic time never decreases)', () => {
    const clock = new ManualClock(10_000);
    clock.jumpTo(20_000);
    expect(clock.monotonicNow()).toBe(10_000);
    clock.jumpTo(5_000);
    expect(clock.monotonicNow()).toBe(10_000);
    expect(clock.now().getTime()).toBe(5_000);
  });
});

describe('systemClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads a monotonic clock that never decreases', () => {
    let last = systemClock.monotonicNow();
    for (let i = 0; i < 1_000; i++) {
      const next = systemClock.monotonicNow();
      expect(next).toBeGreaterThanOrEqual(last);
      last = next;
    }
  });

  // Regression (issue 11): timers waited for a wall-clock deadline, so a step back froze every recheck, poll and
  // lease renewal for the size of the step. Only `Date` is replaced here (the host's clock cannot be stepped in a
  // test); Node's timers and `performance.now()` stay real.
  it('fires timers after their duration when the wall clock steps back two days, and never early when it steps forward', async () => {
    const realNow = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: realNow });
    const armedAt = performance.now();
    const fired = new Map<string, number>();
    systemClock.setTimeout(() => fired.set('short', performance.now() - armedAt), 30);
    systemClock.setTimeout(() => fired.set('long', performance.now() - armedAt), 600);
    vi.setSystemTime(realNow - 2 * 86_400_000);
    expect(systemClock.now().getTime()).toBeLessThan(realNow - 86_400_000);
    // bounded real-time polls: the old timers would have waited two days
    for (let i = 0; i < 250 && !fired.has('short'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired.get('short')).toBeGreaterThanOrEqual(30);
    vi.setSystemTime(realNow + 5 * 86_400_000);
    for (let i = 0; i < 250 && !fired.has('long'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired.get('long')).toBeGreaterThanOrEqual(600);
  });

  it('chains timers longer than Node can hold (about 24.8 days) instead of firing at once', async () => {
    let fired = false;
    const handle = systemClock.setTimeout(() => {
      fired = true;
    }, 40 * 86_400_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(false);
    systemClock.clearTimeout(handle);
  });

  it('fires short timers', async () => {
    const fired = await new Promise<boolean>((resolve) => systemClock.setTimeout(() => resolve(true), 5));
    expect(fired).toBe(true);
  });
});
