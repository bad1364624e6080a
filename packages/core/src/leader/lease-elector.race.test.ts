import { describe, expect, it } from 'vitest';
import { type Clock, sleep } from '../clock/clock.js';
import { ManualClock } from '../clock/manual-clock.js';
import { CertloopError } from '../errors.js';
import { LeaseElector } from './lease-elector.js';
import type { LeaseLock, LeaseLockCallOptions, LeaseRecord, LeaseUpdate } from './lease-lock.js';
import { ControlledLock, recordEvents, skewedClock } from './lease-test-kit.js';
import { MemoryLeaseLock } from './memory-lease-lock.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Holds the first `parties` GETs until all have arrived, so the candidates read the same record. */
function getBarrier(parties: number) {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return (inner: LeaseLock): LeaseLock => ({
    describe: () => inner.describe(),
    async get(options) {
      if (arrived < parties) {
        arrived += 1;
        if (arrived === parties) open();
        await opened;
      }
      return inner.get(options);
    },
    create: (record, options) => inner.create(record, options),
    update: (request, options) => inner.update(request, options),
  });
}

describe('LeaseElector races', () => {
  it.each([
    ['creating the first record', undefined],
    ['taking a released lease', { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 5 }],
  ])('lets exactly one of two simultaneous acquirers win when %s', async (_name, initial) => {
    const clock = new ManualClock(T0);
    const memory = new MemoryLeaseLock();
    if (initial) await memory.create(initial);
    const barrier = getBarrier(2);
    const candidates = ['a', 'b'].map((identity) => {
      const lock = new ControlledLock(barrier(memory), clock);
      const elector = new LeaseElector({ lock, identity, clock, random: () => 0 });
      return { identity, lock, elector, events: recordEvents(elector) };
    });
    for (const c of candidates) c.elector.start();
    await clock.settle();

    const leaders = candidates.filter((c) => c.elector.isLeader());
    expect(leaders).toHaveLength(1);
    const loser = candidates.find((c) => !c.elector.isLeader())!;
    // Both read the same version; the loser's write hit the compare-and-swap.
    expect(loser.lock.calls.filter((c) => c.op !== 'get').map((c) => c.ok)).toEqual([false]);
    const stored = (await memory.get())!.record;
    expect(stored.holderIdentity).toBe(leaders[0]!.identity);
    expect(stored.leaseTransitions).toBe(initial ? 6 : 0);

    await clock.advance(2_000);
    expect(loser.events.filter((e) => e.type === 'observed').at(-1)).toMatchObject({ holder: leaders[0]!.identity });
    expect(loser.elector.isLeader()).toBe(false);
    await Promise.all(candidates.map((c) => c.elector.stop()));
  });

  it.each([
    [1, 1_500],
    [2, 1_500],
    [3, 1_500],
  ])(
    'never has two leaders at once over a long run with flaky, slow and stalled locks (seed %i, %i simulated s)',
    async (seed, seconds) => {
      const random = mulberry32(seed);
      const clock = new ManualClock(T0, { settleTurns: 3 });
      const memory = new MemoryLeaseLock();
      const violations: string[] = [];
      const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
      const electors = [-3_600_000, 0, 5_000].map((offset, i) => {
        const lock = new ChaosLock(memory, clock, random);
        const elector = new LeaseElector({
          lock,
          identity: `replica-${i}`,
          clock: skewedClock(clock, offset),
          random,
          ...timings,
        });
        return { elector, lock, events: recordEvents(elector) };
      });
      let leaderMs = 0;
      for (const { elector } of electors) {
        elector.subscribe((event) => {
          const others = electors.filter((o) => o.elector !== elector && o.elector.isLeader());
          if (event.type === 'elected' && others.length > 0) {
            violations.push(`${event.identity} elected at ${clock.now().toISOString()} while another leads`);
          }
        });
        elector.start();
      }

      const stepMs = 100;
      for (let t = 0; t < seconds * 1_000; t += stepMs) {
        const chaos = random();
        const target = electors[Math.floor(random() * electors.length)]!;
        if (chaos < 0.002) target.lock.stallFor(random() * 6_000);
        // A stop may wait on a slow lock, which only the clock can finish: do not await it here.
        else if (chaos < 0.003) void target.elector.stop();
        else if (chaos < 0.006) target.elector.start();
        await clock.advance(stepMs);
        const leaders = electors.filter((e) => e.elector.isLeader());
        if (leaders.length > 1) violations.push(`two leaders at ${clock.now().toISOString()}`);
        if (leaders.length === 1) leaderMs += stepMs;
      }
      const stopped = Promise.all(electors.map((e) => e.elector.stop()));
      await clock.advance(10_000);
      await stopped;

      expect(violations).toEqual([]);
      for (const { events } of electors) {
        // Terms alternate elected, lost, elected, ... and every term that began has ended.
        const terms = events.filter((e) => e.type !== 'observed').map((e) => e.type);
        expect(terms.every((type, i) => type === (i % 2 === 0 ? 'elected' : 'lost'))).toBe(true);
        expect(terms.length % 2).toBe(0);
      }
      const termCount = electors.reduce((n, e) => n + e.events.filter((ev) => ev.type === 'elected').length, 0);
      // Liveness despite the chaos: leadership changed hands many times and someone led most of the time.
      expect(termCount).toBeGreaterThan(10);
      expect(leaderMs / (seconds * 1_000)).toBeGreaterThan(0.5);
      expect(electors.reduce((n, e) => n + e.lock.failures, 0)).toBeGreaterThan(100);
    },
  );
});

/** A lock whose calls randomly fail before or after committing, are slow before or after committing, or stall. */
class ChaosLock implements LeaseLock {
  failures = 0;
  #stalledUntil = 0;

  constructor(
    readonly inner: LeaseLock,
    readonly clock: Clock,
    readonly random: () => number,
  ) {}

  describe(): string {
    return `chaos(${this.inner.describe()})`;
  }

  stallFor(ms: number): void {
    this.#stalledUntil = this.clock.now().getTime() + ms;
  }

  get(options: LeaseLockCallOptions = {}) {
    return this.#call(options, () => this.inner.get(options));
  }

  create(record: LeaseRecord, options: LeaseLockCallOptions = {}) {
    return this.#call(options, () => this.inner.create(record, options));
  }

  update(request: LeaseUpdate, options: LeaseLockCallOptions = {}) {
    return this.#call(options, () => this.inner.update(request, options));
  }

  async #call<T>(options: LeaseLockCallOptions, run: () => Promise<T>): Promise<T> {
    const stall = this.#stalledUntil - this.clock.now().getTime();
    const roll = this.random();
    const delay = stall > 0 ? stall : roll < 0.1 ? this.random() * 1_500 : 0;
    if (delay > 0) await sleep(this.clock, delay, options.signal);
    if (roll > 0.92) this.#fail('before commit');
    const result = await run();
    // A partition right after the call reached the backend: its answer comes late, and later calls stall.
    if (roll >= 0.1 && roll < 0.13) this.stallFor(this.random() * 6_000);
    // A slow answer: the write took effect long before the caller hears of it.
    if (roll >= 0.1 && roll < 0.2) await sleep(this.clock, this.random() * 1_900, options.signal);
    // A write that committed but whose answer was lost: the caller must not assume it failed cleanly.
    if (roll > 0.88 && roll <= 0.92) this.#fail('after commit');
    return result;
  }

  #fail(when: string): never {
    this.failures += 1;
    throw new CertloopError('CERTLOOP_STORE_IO', `injected failure ${when}`);
  }
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
