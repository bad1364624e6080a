import { describe, expect, it } from 'vitest';
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

describe('systemClock', () => {
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
