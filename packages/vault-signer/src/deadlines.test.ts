import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.js';

describe('Deadlines: one sweep for every pending request', () => {
  it('cancels what is not done by its deadline, and only that; a short deadline is not held up by a long one', async () => {
    const deadlines = new Deadlines();
    const started = performance.now();
    const cancelled: string[] = [];
    // the long one first: the sweep must still tighten for the short ones that follow
    const long = deadlines.add(10_000, () => cancelled.push('long'));
    const done = deadlines.add(40, () => cancelled.push('done'));
    const fired = new Promise<number>((resolve) => {
      deadlines.add(40, () => {
        cancelled.push('short');
        resolve(performance.now() - started);
      });
    });
    deadlines.delete(done);
    const after = await fired;
    expect(after).toBeGreaterThanOrEqual(40);
    // an eighth of the timeout late at most (5 ms here), plus scheduling slack on a loaded machine
    expect(after).toBeLessThan(40 + 5 + 400);
    expect(cancelled).toEqual(['short']);
    deadlines.delete(long);
  });
});
