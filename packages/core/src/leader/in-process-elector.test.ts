import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { isCertloopError } from '../errors.js';
import { InProcessLeaderElector, StaticLeaderElector } from './in-process-elector.js';
import { recordEvents } from './lease-test-kit.js';
import { MemoryLeaseLock } from './memory-lease-lock.js';

describe('InProcessLeaderElector', () => {
  it('elects one of several workers sharing a MemoryLeaseLock and fails over on stop', async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock({ name: 'workers' });
    const workers = ['w1', 'w2', 'w3'].map((identity) => new InProcessLeaderElector({ lock, identity, clock }));
    for (const worker of workers) worker.start();
    await clock.advance(10_000);
    const leader = workers.filter((w) => w.isLeader());
    expect(leader).toHaveLength(1);
    expect(lock.describe()).toBe('memory/workers');

    await leader[0]!.stop();
    await clock.advance(2_000 * 2.2);
    const next = workers.filter((w) => w.isLeader());
    expect(next).toHaveLength(1);
    expect(next[0]).not.toBe(leader[0]);
    await Promise.all(workers.map((w) => w.stop()));
    expect(workers.some((w) => w.isLeader())).toBe(false);
  });

  it('is leader at once with its own private lock', async () => {
    const clock = new ManualClock();
    const elector = new InProcessLeaderElector({
      identity: 'solo',
      clock,
      leaseDurationMs: 5_000,
      renewDeadlineMs: 4_000,
      retryPeriodMs: 1_000,
    });
    elector.start();
    await clock.settle();
    expect(elector.isLeader()).toBe(true);
    expect((await elector.lock.get())?.record.leaseDurationSeconds).toBe(5);
    await elector.stop();
  });

  it('validates its timings like any LeaseElector', () => {
    expect(
      () => new InProcessLeaderElector({ identity: 'x', leaseDurationMs: 1_000, renewDeadlineMs: 2_000 }),
    ).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });
});

describe('StaticLeaderElector', () => {
  it('leads from start() until stop(), and its term signal aborts on stop', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    const elector = new StaticLeaderElector({ identity: 'only', clock });
    const events = recordEvents(elector);
    expect(elector.isLeader()).toBe(false);
    expect(elector.leadershipSignal()).toBeUndefined();
    elector.start();
    elector.start();
    expect(elector.isLeader()).toBe(true);
    const signal = elector.leadershipSignal()!;
    expect(signal.aborted).toBe(false);
    await elector.stop();
    await elector.stop();
    expect(signal.aborted).toBe(true);
    expect(isCertloopError(signal.reason, 'CERTLOOP_LEADERSHIP_LOST')).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['observed', 'elected', 'lost', 'observed']);
    expect(events[1]).toMatchObject({ identity: 'only', at: new Date('2026-03-01T00:00:00Z') });
  });

  it('keeps elected before lost when a listener stops it on election', () => {
    const elector = new StaticLeaderElector({ identity: 'only' });
    const seen: string[] = [];
    elector.subscribe((event) => {
      if (event.type === 'elected') void elector.stop();
    });
    elector.subscribe((event) => seen.push(event.type));
    elector.start();
    expect(seen).toEqual(['observed', 'elected', 'lost', 'observed']);
  });

  it('rejects an empty identity with CERTLOOP_INVALID_CONFIG', () => {
    expect(() => new StaticLeaderElector({ identity: '' })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});
