import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { isCertloopError } from '../errors.js';
import { LeaseElector, type LeaseElectorOptions } from './lease-elector.js';
import { ControlledLock, recordEvents, type SkewedClock, skewedClock } from './lease-test-kit.js';
import { MemoryLeaseLock } from './memory-lease-lock.js';
import type { LeaderEvent } from './types.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const since = (at: Date) => at.getTime() - T0;
const running: LeaseElector[] = [];

interface Candidate {
  readonly id: string;
  readonly lock: ControlledLock;
  readonly elector: LeaseElector;
  readonly events: LeaderEvent[];
}

function setup(ids: string[], options: Partial<LeaseElectorOptions> = {}) {
  const clock = new ManualClock(T0);
  const memory = new MemoryLeaseLock();
  const candidates: Candidate[] = ids.map((id) => {
    const lock = new ControlledLock(memory, clock);
    // random 0: acquire retries exactly every RetryPeriod, so times are exact.
    const elector = new LeaseElector({ lock, identity: id, clock, random: () => 0, ...options });
    running.push(elector);
    return { id, lock, elector, events: recordEvents(elector) };
  });
  return { clock, memory, candidates };
}

const ofType = <T extends LeaderEvent['type']>(events: LeaderEvent[], type: T) =>
  events.filter((event): event is Extract<LeaderEvent, { type: T }> => event.type === type);

afterEach(async () => {
  await Promise.all(running.splice(0).map((elector) => elector.stop()));
});

describe('LeaseElector', () => {
  it('elects a single candidate at once and keeps renewing without a new term', async () => {
    const { clock, memory, candidates } = setup(['a']);
    const [a] = candidates as [Candidate];
    a.elector.start();
    await clock.settle();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.leadershipSignal()?.aborted).toBe(false);
    expect(a.events.map((e) => e.type)).toEqual(['observed', 'elected']);
    expect((await memory.get())?.record).toMatchObject({
      holderIdentity: 'a',
      leaseTransitions: 0,
      leaseDurationSeconds: 15,
    });

    await clock.advance(60_000);
    const stored = (await memory.get())!.record;
    expect(a.elector.isLeader()).toBe(true);
    expect(ofType(a.events, 'elected')).toHaveLength(1);
    expect(since(stored.acquireTime!)).toBe(0);
    expect(since(stored.renewTime!)).toBe(60_000);
    // The holder renews through the fast path: one PUT per RetryPeriod, no reads.
    expect(a.lock.calls.filter((c) => c.op === 'update' && c.at > T0).length).toBe(30);
    expect(a.lock.calls.filter((c) => c.op === 'get')).toHaveLength(1);
  });

  it('elects exactly one of three candidates; the others observe it and never take over', async () => {
    const { clock, candidates } = setup(['a', 'b', 'c']);
    for (const c of candidates) c.elector.start();
    await clock.advance(120_000);
    const leaders = candidates.filter((c) => c.elector.isLeader());
    expect(leaders.map((c) => c.id)).toEqual(['a']);
    for (const c of candidates) {
      expect(ofType(c.events, 'elected')).toHaveLength(c.id === 'a' ? 1 : 0);
      expect(ofType(c.events, 'observed').map((e) => e.holder)).toEqual(['a']);
    }
  });

  it('loses leadership at the renew deadline when its lock I/O stalls; another takes over a lease duration after observing', async () => {
    const { clock, candidates } = setup(['a', 'b']);
    const [a, b] = candidates as [Candidate, Candidate];
    a.elector.start();
    await clock.settle();
    b.elector.start();
    const signal = a.elector.leadershipSignal()!;
    let abortedAt: number | undefined;
    signal.addEventListener('abort', () => {
      abortedAt = since(clock.now());
    });

    await clock.advance(5_000); // a renewed at 2 s and 4 s
    a.lock.mode = 'block'; // the renew at 6 s hangs
    await clock.advance(8_999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    // The last successful renew started at 4 s: the term ends at 4 + 10 s, and leader-only work is told at once.
    expect(a.elector.isLeader()).toBe(false);
    expect(abortedAt).toBe(14_000);
    expect(isCertloopError(signal.reason, 'CERTLOOP_LEADERSHIP_LOST')).toBe(true);
    expect(ofType(a.events, 'lost').map((e) => [since(e.at), e.reason])).toEqual([[14_000, 'renew deadline exceeded']]);
    expect(b.elector.isLeader()).toBe(false);

    await clock.advance(20_000);
    const lastVersion = a.lock.calls.filter((c) => c.op === 'update' && c.ok).at(-1)!.version;
    const firstSeen = b.lock.calls.find((c) => c.op === 'get' && c.version === lastVersion)!.at - T0;
    const [elected] = ofType(b.events, 'elected');
    expect(since(elected!.at)).toBeGreaterThanOrEqual(firstSeen + 15_000);
    expect(since(elected!.at)).toBeLessThan(firstSeen + 15_000 + 2_000);
    expect(since(elected!.at)).toBeGreaterThan(abortedAt!);

    // Once its I/O recovers, the old leader sees the new one and stays a candidate.
    a.lock.resume();
    await clock.advance(30_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(b.elector.isLeader()).toBe(true);
    expect(ofType(a.events, 'observed').at(-1)?.holder).toBe('b');
  });

  it('waits a full lease duration from its own observation even when the remote renewTime looks ancient', async () => {
    const { clock, memory, candidates } = setup(['b']);
    const ancient = new Date('2001-01-01T00:00:00Z');
    await memory.create({
      holderIdentity: 'ghost',
      leaseDurationSeconds: 15,
      acquireTime: ancient,
      renewTime: ancient,
      leaseTransitions: 3,
    });
    const [b] = candidates as [Candidate];
    b.elector.start();
    await clock.advance(14_999);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(5_000);
    // First observed at 0; valid while 0 + 15 s > now; the retry at 16 s takes it.
    expect(ofType(b.events, 'elected').map((e) => since(e.at))).toEqual([16_000]);
    expect((await memory.get())?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 4 });
  });

  it('never takes over from a live leader whose wall clock is an hour behind', async () => {
    const clock = new ManualClock(T0);
    const memory = new MemoryLeaseLock();
    const make = (identity: string, offsetMs: number) => {
      const elector = new LeaseElector({
        lock: memory,
        identity,
        clock: skewedClock(clock, offsetMs),
        random: () => 0.5,
      });
      running.push(elector);
      return elector;
    };
    const slow = make('slow', -3_600_000);
    const fast = make('fast', 0);
    slow.start();
    await clock.settle();
    fast.start();
    await clock.advance(300_000);
    expect(slow.isLeader()).toBe(true);
    expect(fast.isLeader()).toBe(false);
    expect(since((await memory.get())!.record.renewTime!)).toBeLessThan(-3_000_000);
  });

  it('releases on stop so another candidate takes over at its next retry', async () => {
    const { clock, memory, candidates } = setup(['a', 'b']);
    const [a, b] = candidates as [Candidate, Candidate];
    a.elector.start();
    await clock.settle();
    b.elector.start();
    await clock.advance(5_000);
    const signal = a.elector.leadershipSignal()!;
    await a.elector.stop();
    expect(signal.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events.map((e) => e.type)).toEqual(['observed', 'elected', 'lost', 'observed']);
    expect((await memory.get())?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    // stop() left no timers of a's behind; only b's retry is pending.
    expect(clock.pendingTimers).toBe(1);

    await clock.advance(1_000);
    expect(ofType(b.events, 'elected').map((e) => since(e.at))).toEqual([6_000]);
    expect((await memory.get())?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('turns I/O errors into failed rounds and is elected once the lock heals', async () => {
    const { clock, candidates } = setup(['a']);
    const [a] = candidates as [Candidate];
    a.lock.mode = 'fail';
    a.elector.start();
    await clock.advance(30_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.lock.calls.length).toBeGreaterThan(10);
    a.lock.resume();
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(true);
  });

  it('spaces acquire attempts by RetryPeriod × (1 + 1.2 × random), as client-go JitterUntil', async () => {
    const clock = new ManualClock(T0);
    const memory = new MemoryLeaseLock();
    await memory.create({ holderIdentity: 'other', leaseDurationSeconds: 3600, leaseTransitions: 0 });
    const randoms = [0, 0.5, 0.999_999];
    const lock = new ControlledLock(memory, clock);
    const elector = new LeaseElector({ lock, identity: 'a', clock, random: () => randoms.shift() ?? 0 });
    running.push(elector);
    elector.start();
    await clock.advance(20_000);
    const gaps = lock.calls.slice(0, 4).map((c, i, all) => c.at - (all[i - 1]?.at ?? c.at));
    const expected = [2_000, 3_200, 2_000 * (1 + 1.2 * 0.999_999)];
    // Clock readings are whole milliseconds; the delays are not.
    expect(gaps.slice(1, 4).map((gap, i) => Math.abs(gap - expected[i]!) <= 1)).toEqual([true, true, true]);
    // the manual clock rounds delays up to whole milliseconds
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2_000 * 2.2);
  });

  it('ends a term at once when it sees the lease taken by someone else', async () => {
    const { clock, memory, candidates } = setup(['a']);
    const [a] = candidates as [Candidate];
    a.elector.start();
    await clock.advance(3_000);
    const current = (await memory.get())!;
    await memory.update({
      record: { ...current.record, holderIdentity: 'intruder' },
      expectedVersion: current.version,
    });
    await clock.advance(1_000);
    expect(ofType(a.events, 'lost').map((e) => since(e.at))).toEqual([4_000]);
    expect(ofType(a.events, 'observed').at(-1)?.holder).toBe('intruder');
  });

  it('reports elected and lost in order, once per term, even when a listener stops it on election', async () => {
    const { clock, candidates } = setup(['a']);
    const [a] = candidates as [Candidate];
    const seen: string[] = [];
    a.elector.subscribe((event) => {
      if (event.type === 'elected') void a.elector.stop();
    });
    a.elector.subscribe((event) => seen.push(event.type));
    a.elector.start();
    await clock.settle();
    expect(seen).toEqual(['observed', 'elected', 'lost', 'observed']);
  });

  it('stop() ends pending waits and blocked I/O without time passing, and start() campaigns again', async () => {
    const { clock, memory, candidates } = setup(['a']);
    const [a] = candidates as [Candidate];
    await memory.create({ holderIdentity: 'other', leaseDurationSeconds: 3600, leaseTransitions: 0 });
    a.elector.start();
    await clock.settle();
    await a.elector.stop(); // waiting for the next retry
    expect(clock.pendingTimers).toBe(0);
    a.lock.mode = 'block';
    a.elector.start();
    await clock.settle();
    await a.elector.stop(); // blocked in a GET
    expect(clock.pendingTimers).toBe(0);
    expect(ofType(a.events, 'elected')).toHaveLength(0);

    a.lock.resume();
    const current = (await memory.get())!;
    await memory.update({ record: { ...current.record, holderIdentity: '' }, expectedVersion: current.version });
    a.elector.start();
    await clock.settle();
    expect(a.elector.isLeader()).toBe(true);
  });

  it.each([
    ['lease not longer than the renew deadline', { leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }],
    ['renew deadline not above 1.2 × retry', { renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }],
    ['zero retry period', { retryPeriodMs: 0 }],
    ['negative lease', { leaseDurationMs: -1 }],
    ['NaN renew deadline', { renewDeadlineMs: Number.NaN }],
    ['empty identity', { identity: '' }],
    ['missing lock', { lock: undefined }],
  ])('rejects %s with CERTLOOP_INVALID_CONFIG', (_name, override) => {
    const options = { lock: new MemoryLeaseLock(), identity: 'a', ...override } as LeaseElectorOptions;
    expect(() => new LeaseElector(options)).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });

  it('accepts the tightest valid timings', () => {
    const lock = new MemoryLeaseLock();
    expect(
      () => new LeaseElector({ lock, identity: 'a', leaseDurationMs: 2_402, renewDeadlineMs: 2_401 }),
    ).not.toThrow();
  });
});

describe('LeaseElector under wall-clock steps (issue 11: durations are monotonic)', () => {
  const TWO_DAYS = 2 * 86_400_000;

  /** Candidates on one ManualClock, each with its own wall clock that can be stepped; records any overlap. */
  function stepped(ids: string[]) {
    const clock = new ManualClock(T0);
    const memory = new MemoryLeaseLock();
    const overlaps: string[] = [];
    const candidates = ids.map((id) => {
      const view = skewedClock(clock, 0);
      const lock = new ControlledLock(memory, clock);
      const elector = new LeaseElector({ lock, identity: id, clock: view, random: () => 0 });
      running.push(elector);
      return { id, view, lock, elector, events: recordEvents(elector) };
    });
    for (const c of candidates) {
      c.elector.subscribe((event) => {
        if (event.type !== 'elected') return;
        const others = candidates.filter((o) => o !== c && o.elector.isLeader()).map((o) => o.id);
        if (others.length) overlaps.push(`${c.id} elected at ${since(clock.now())} while ${others} led`);
      });
    }
    return { clock, memory, candidates, overlaps };
  }
  type Stepped = { id: string; view: SkewedClock; lock: ControlledLock; elector: LeaseElector; events: LeaderEvent[] };
  const renewalsBetween = (c: Stepped, from: number, to: number) =>
    c.lock.calls.filter((call) => call.op === 'update' && call.ok && call.at >= from && call.at < to).length;

  it("keeps renewing when the leader's wall clock steps back 2 days; when its I/O then stalls it steps down before anyone takes over", async () => {
    const { clock, memory, candidates, overlaps } = stepped(['a', 'b']);
    const [a, b] = candidates as [Stepped, Stepped];
    a.elector.start();
    await clock.settle();
    b.elector.start();
    await clock.advance(5_000);
    a.view.stepWall(-TWO_DAYS);
    await clock.advance(60_000);
    // 30 renewals in the minute after the step (one per RetryPeriod), the last one written with the stepped time
    expect(renewalsBetween(a, T0 + 5_000, T0 + 65_000)).toBe(30);
    expect(since((await memory.get())!.record.renewTime!)).toBe(64_000 - TWO_DAYS);
    expect(a.elector.isLeader()).toBe(true);
    expect(ofType(b.events, 'elected')).toHaveLength(0);

    a.lock.mode = 'block'; // the renew at 66 s hangs: the term ends 10 s after the last good renew (64 s)
    await clock.advance(8_999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(ofType(a.events, 'lost').map((e) => e.reason)).toEqual(['renew deadline exceeded']);
    await clock.advance(20_000);
    expect(b.elector.isLeader()).toBe(true);
    const [lost] = ofType(a.events, 'lost');
    const [elected] = ofType(b.events, 'elected');
    // a's events carry its stepped wall clock, b's the true one; b waited a full lease after its last observation
    expect(since(lost!.at) + TWO_DAYS).toBe(74_000);
    expect(since(elected!.at)).toBeGreaterThanOrEqual(64_000 + 15_000);
    expect(overlaps).toEqual([]);
    a.lock.resume();
  });

  it('never takes over a live leader when the candidate’s own wall clock steps forward 2 days', async () => {
    const { clock, candidates, overlaps } = stepped(['a', 'b']);
    const [a, b] = candidates as [Stepped, Stepped];
    a.elector.start();
    await clock.settle();
    b.elector.start();
    await clock.advance(3_000);
    b.view.stepWall(TWO_DAYS);
    await clock.advance(120_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(ofType(b.events, 'elected')).toHaveLength(0);
    expect(overlaps).toEqual([]);
  });

  it('keeps its term when its own wall clock steps forward or back mid-round', async () => {
    const { clock, candidates } = stepped(['a']);
    const [a] = candidates as [Stepped];
    a.elector.start();
    await clock.settle();
    await clock.advance(1_000);
    a.view.stepWall(TWO_DAYS);
    await clock.advance(30_000);
    a.view.stepWall(-3 * TWO_DAYS);
    await clock.advance(30_000);
    expect(ofType(a.events, 'elected')).toHaveLength(1);
    expect(ofType(a.events, 'lost')).toHaveLength(0);
    expect(renewalsBetween(a, T0 + 1_000, T0 + 61_000)).toBe(30);
  });

  it('takes over a dead leader one lease after observing it, even if its wall clock stepped back meanwhile', async () => {
    const { clock, memory, candidates } = stepped(['b']);
    await memory.create({ holderIdentity: 'ghost', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const [b] = candidates as [Stepped];
    b.elector.start();
    await clock.settle();
    b.view.stepWall(-TWO_DAYS);
    await clock.advance(14_999);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(2_000);
    // observed at 0 on the monotonic clock: the retry at 16 s takes it, not two days later
    expect(b.elector.isLeader()).toBe(true);
  });
});
