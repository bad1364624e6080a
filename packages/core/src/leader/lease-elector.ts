/**
 * `@certloop/core` LeaseElector: client-go's leader election algorithm over any {@link LeaseLock}.
 *
 * Campaign: every RetryPeriod (jittered to [retry, 2.2 × retry), as client-go's `JitterUntil`), try to acquire or
 * renew. Hold: renew every RetryPeriod; a term ends when no renew succeeded within RenewDeadline of the start of the
 * last successful one, or at once when the lease is seen held by someone else. Expiry of another holder's lease is
 * judged from the local time this elector first saw the current record, never from the record's times, so clock
 * skew between replicas cannot make two leaders; the lock's compare-and-swap fences concurrent takeovers.
 * Every duration (lease expiry, renew deadline, retry period, round timeout) is measured on the clock's monotonic
 * reading, as client-go's observedTime is, so no step of a wall clock can freeze a renewal or make two holders;
 * the wall clock only writes the record's informational `acquireTime`/`renewTime` and the events' `at`.
 * Departures from client-go, all toward safety: the renew deadline counts from the start of the last successful
 * write (client-go counts from the start of the renew round, up to RetryPeriod later); the record's
 * `leaseDurationSeconds` is the lease rounded up to whole seconds (client-go truncates).
 */
import { type Clock, sleep, systemClock, type TimerHandle } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { abortScope } from './abort-scope.js';
import {
  LEASE_ELECTOR_DEFAULTS,
  type LeaseElectorTimings,
  validateLeaseElectorOptions,
} from './lease-elector-options.js';
import type { LeaseLock, LeaseRecord } from './lease-lock.js';
import { OrderedEmitter } from './ordered-emitter.js';
import type { LeaderElector, LeaderEvent } from './types.js';

export interface LeaseElectorOptions extends LeaseElectorTimings {
  /** Where the lease lives; every candidate for the same lease uses a lock on the same record. */
  readonly lock: LeaseLock;
  /** This candidate's identity, unique among candidates (e.g. pod name or hostname plus pid). */
  readonly identity: string;
  readonly clock?: Clock;
  /** A source of uniform numbers in [0, 1) for retry jitter (default `Math.random`). */
  readonly random?: () => number;
}

interface Term {
  readonly controller: AbortController;
  deadline: TimerHandle | undefined;
  ended: boolean;
}

interface Campaign {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/** client-go's `JitterFactor` for the acquire loop. */
const JITTER_FACTOR = 1.2;

export class LeaseElector implements LeaderElector {
  readonly identity: string;
  readonly #lock: LeaseLock;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  readonly #retryMs: number;
  readonly #events = new OrderedEmitter<LeaderEvent>();
  #campaign: Campaign | undefined;
  #stopping: Promise<void> = Promise.resolve();
  #term: Term | undefined;
  // client-go's observed state: the last record seen or written, its version, and when (local monotonic time) it
  // changed.
  #observed: LeaseRecord | undefined;
  #observedVersion: string | undefined;
  #observedAt = 0;

  constructor(options: LeaseElectorOptions) {
    validateLeaseElectorOptions(options);
    this.identity = options.identity;
    this.#lock = options.lock;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#leaseMs = options.leaseDurationMs ?? LEASE_ELECTOR_DEFAULTS.leaseDurationMs;
    this.#renewMs = options.renewDeadlineMs ?? LEASE_ELECTOR_DEFAULTS.renewDeadlineMs;
    this.#retryMs = options.retryPeriodMs ?? LEASE_ELECTOR_DEFAULTS.retryPeriodMs;
  }

  start(): void {
    if (this.#campaign) return;
    const controller = new AbortController();
    // A restart waits for the previous stop's release, so the two never race on the lock.
    const done = this.#stopping.then(() => this.#run(controller.signal)).catch(() => undefined);
    this.#campaign = { controller, done };
  }

  stop(): Promise<void> {
    const campaign = this.#campaign;
    if (!campaign) return this.#stopping;
    this.#campaign = undefined;
    campaign.controller.abort(new CertloopError('CERTLOOP_CLOSED', 'leader election stopped'));
    // Leader-only work stops before the lease is given up, not after.
    if (this.#term) this.#endTerm(this.#term, 'stopped');
    this.#stopping = campaign.done.then(() => this.#release());
    return this.#stopping;
  }

  isLeader(): boolean {
    return this.#term !== undefined;
  }

  leadershipSignal(): AbortSignal | undefined {
    return this.#term?.controller.signal;
  }

  subscribe(listener: (event: LeaderEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const term = await this.#acquire(signal);
      if (!term) return;
      await this.#hold(term, signal);
    }
  }

  /** client-go `acquire`: try at once, then every jittered RetryPeriod, until elected (the term) or stopped. */
  async #acquire(signal: AbortSignal): Promise<Term | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      const startedAt = this.#clock.monotonicNow();
      const acquired = await this.#tryAcquireOrRenew(signal);
      if (signal.aborted) return undefined;
      // A try slower than the renew deadline proves nothing about now: count it as a failed round.
      if (acquired && this.#clock.monotonicNow() < startedAt + this.#renewMs) {
        return this.#beginTerm(startedAt);
      }
      const delay = this.#retryMs * (1 + this.#random() * JITTER_FACTOR);
      if (!(await this.#wait(delay, signal))) return undefined;
    }
  }

  /** client-go `renew`: renew every RetryPeriod until the term ends (deadline, takeover) or the campaign stops. */
  async #hold(term: Term, signal: AbortSignal): Promise<void> {
    const scope = abortScope({ parents: [signal, term.controller.signal] });
    try {
      while (!term.ended) {
        if (!(await this.#wait(this.#retryMs, scope.signal))) return;
        const startedAt = this.#clock.monotonicNow();
        const renewed = await this.#tryAcquireOrRenew(scope.signal);
        if (term.ended) return;
        if (renewed) this.#armDeadline(term, startedAt);
        else if (this.#observed?.holderIdentity !== this.identity) {
          // Stricter than client-go, which waits out the deadline: a term known to be over ends now.
          this.#endTerm(term, `lease ${this.#lock.describe()} is held by another candidate`);
        }
      }
    } finally {
      scope.dispose();
    }
  }

  /** One round; never throws: a lock error, a conflict or a timeout is a failed round. */
  async #tryAcquireOrRenew(parent: AbortSignal): Promise<boolean> {
    const scope = abortScope({ parents: [parent], timeout: { clock: this.#clock, ms: this.#renewMs } });
    try {
      return await this.#tryRound(scope.signal);
    } catch {
      return false;
    } finally {
      scope.dispose();
    }
  }

  async #tryRound(signal: AbortSignal): Promise<boolean> {
    const now = this.#clock.now(); // wall time, written as information only
    const fresh: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    // 1. Fast path for the holder: write over the cached record, trusting it is still current (CAS checks it).
    const observed = this.#observed;
    if (observed && this.#observedVersion !== undefined && this.#holdsObserved() && this.#leaseValid()) {
      const record = { ...fresh, acquireTime: observed.acquireTime, leaseTransitions: observed.leaseTransitions };
      try {
        const { version } = await this.#lock.update({ record, expectedVersion: this.#observedVersion }, { signal });
        this.#setObserved(record, version);
        return true;
      } catch {
        if (signal.aborted) return false;
      }
    }
    // 2. Read, or create the first record.
    const current = await this.#lock.get({ signal });
    if (!current) {
      const { version } = await this.#lock.create(fresh, { signal });
      this.#setObserved(fresh, version);
      return true;
    }
    // 3. A changed record restarts the expiry clock, measured locally.
    if (current.version !== this.#observedVersion) this.#setObserved(current.record, current.version);
    if (current.record.holderIdentity !== '' && this.#leaseValid() && !this.#holdsObserved()) return false;
    // 4. Take it over (a new transition), or renew our own through the slow path.
    const record = this.#holdsObserved()
      ? { ...fresh, acquireTime: current.record.acquireTime, leaseTransitions: current.record.leaseTransitions }
      : { ...fresh, leaseTransitions: current.record.leaseTransitions + 1 };
    const { version } = await this.#lock.update({ record, expectedVersion: current.version }, { signal });
    this.#setObserved(record, version);
    return true;
  }

  /** client-go `release`: on stop, free the lease we hold so another candidate takes it at its next retry. */
  async #release(): Promise<void> {
    const observed = this.#observed;
    const version = this.#observedVersion;
    if (!observed || version === undefined || !this.#holdsObserved()) return;
    const now = this.#clock.now();
    const record: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.leaseTransitions,
    };
    const scope = abortScope({ timeout: { clock: this.#clock, ms: this.#renewMs } });
    try {
      const written = await this.#lock.update({ record, expectedVersion: version }, { signal: scope.signal });
      this.#setObserved(record, written.version);
    } catch {
      // Best effort, as in client-go: an unreleased lease simply expires after its duration.
    } finally {
      scope.dispose();
    }
  }

  #holdsObserved(): boolean {
    return this.#observed?.holderIdentity === this.identity;
  }

  /** client-go: the lease is valid while observedTime + leaseDuration is in the future, on the monotonic clock. */
  #leaseValid(): boolean {
    const observed = this.#observed;
    return (
      observed !== undefined && this.#observedAt + observed.leaseDurationSeconds * 1000 > this.#clock.monotonicNow()
    );
  }

  #setObserved(record: LeaseRecord, version: string): void {
    const previous = this.#observed;
    this.#observed = record;
    this.#observedVersion = version;
    const at = this.#clock.now();
    this.#observedAt = this.#clock.monotonicNow();
    if (previous === undefined || previous.holderIdentity !== record.holderIdentity) {
      this.#events.emit({ type: 'observed', holder: record.holderIdentity || undefined, at });
    }
  }

  #beginTerm(startedAt: number): Term {
    const term: Term = { controller: new AbortController(), deadline: undefined, ended: false };
    this.#term = term;
    this.#armDeadline(term, startedAt);
    this.#events.emit({ type: 'elected', identity: this.identity, at: this.#clock.now() });
    return term;
  }

  /** The term ends RenewDeadline after the start of its last successful write, unless renewed again. */
  #armDeadline(term: Term, startedAt: number): void {
    if (term.deadline !== undefined) this.#clock.clearTimeout(term.deadline);
    const delay = startedAt + this.#renewMs - this.#clock.monotonicNow();
    term.deadline = this.#clock.setTimeout(() => this.#endTerm(term, 'renew deadline exceeded'), delay);
  }

  #endTerm(term: Term, reason: string): void {
    if (term.ended) return;
    term.ended = true;
    if (term.deadline !== undefined) this.#clock.clearTimeout(term.deadline);
    if (this.#term === term) this.#term = undefined;
    term.controller.abort(
      new CertloopError('CERTLOOP_LEADERSHIP_LOST', reason, { details: { identity: this.identity } }),
    );
    this.#events.emit({ type: 'lost', identity: this.identity, at: this.#clock.now(), reason });
  }

  async #wait(delayMs: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(this.#clock, delayMs, signal);
      return true;
    } catch {
      return false;
    }
  }
}
