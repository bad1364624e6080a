import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from '../clock/clock.js';
import { ManualClock } from '../clock/manual-clock.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { onAbort } from './abort-fanout.js';

/** Collects the process warnings emitted while `work` runs (and a turn after). */
async function warningsDuring(work: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error) => seen.push(warning.name);
  process.on('warning', listener);
  try {
    await work();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('onAbort: one native listener per signal', () => {
  it('50 listeners on one signal: one native listener, each called once, no MaxListenersExceededWarning', async () => {
    const controller = new AbortController();
    const calls: number[] = [];
    const warnings = await warningsDuring(async () => {
      const offs = Array.from({ length: 50 }, (_, i) => onAbort(controller.signal, () => calls.push(i)));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      offs[0]!();
      controller.abort();
    });
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(calls).toEqual(Array.from({ length: 49 }, (_, i) => i + 1));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('the last unsubscribe removes the native listener; a listener object gets handleEvent()', () => {
    const controller = new AbortController();
    let handled = 0;
    const off1 = onAbort(controller.signal, { handleEvent: () => handled++ });
    const off2 = onAbort(controller.signal, () => undefined);
    off1();
    off1();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    off2();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const off3 = onAbort(controller.signal, { handleEvent: () => handled++ });
    controller.abort();
    off3();
    expect(handled).toBe(1);
  });

  it('50 watches of a store and 50 sleeps sharing one signal: no warning, all end on abort', async () => {
    const controller = new AbortController();
    const store = new MemorySecretStore();
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const ended: Promise<unknown>[] = [];
    const warnings = await warningsDuring(async () => {
      for (let i = 0; i < 50; i++) {
        const watch = store.watch(`s${i % 5}`, { signal: controller.signal });
        ended.push(
          (async () => {
            for await (const _ of watch) {
              // drain
            }
          })(),
        );
        ended.push(sleep(clock, 60_000, controller.signal).catch((err) => err.code));
      }
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort();
      await Promise.all(ended);
    });
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(clock.pendingTimers).toBe(0);
  });
});
