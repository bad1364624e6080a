/**
 * One heartbeat timer for every stream: each key beats one interval after it was added, then every interval, on
 * the injected clock; a deleted key never beats again; the sweep keeps a single timer whatever the number of keys.
 */
import { ManualClock } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { HeartbeatSweep } from './heartbeat-sweep.js';

describe('HeartbeatSweep', () => {
  it('beats each key on its own schedule with one timer', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const beats: string[] = [];
    const sweep = new HeartbeatSweep<string>(clock, 1000, (key) => beats.push(`${key}@${clock.monotonicNow()}`));
    const t0 = clock.monotonicNow();
    sweep.add('a');
    await clock.advance(400);
    sweep.add('b');
    for (let i = 0; i < 1000; i++) sweep.add(`x${i}`);
    for (let i = 0; i < 1000; i++) sweep.delete(`x${i}`);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(600); // a is due at 1000
    await clock.advance(400); // b at 1400
    await clock.advance(600); // a at 2000
    sweep.delete('b');
    await clock.advance(1000); // a at 3000; b never again
    expect(beats).toEqual([`a@${t0 + 1000}`, `b@${t0 + 1400}`, `a@${t0 + 2000}`, `a@${t0 + 3000}`]);
    sweep.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
