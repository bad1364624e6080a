/**
 * `@certloop/core` in-process electors: `InProcessLeaderElector` (a {@link LeaseElector} over a
 * {@link MemoryLeaseLock}) and `StaticLeaderElector` (always the leader, for a single replica).
 */

import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { LeaseElector } from './lease-elector.js';
import type { LeaseElectorTimings } from './lease-elector-options.js';
import { MemoryLeaseLock } from './memory-lease-lock.js';
import { OrderedEmitter } from './ordered-emitter.js';
import type { LeaderElector, LeaderEvent } from './types.js';

export interface InProcessLeaderElectorOptions extends LeaseElectorTimings {
  /** The lease shared by the candidates of this process; a private one when omitted (then it always wins). */
  readonly lock?: MemoryLeaseLock;
  readonly identity: string;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** An elector among candidates of one process (e.g. several workers), with client-go's timing rules. */
export class InProcessLeaderElector extends LeaseElector {
  readonly lock: MemoryLeaseLock;

  constructor(options: InProcessLeaderElectorOptions) {
    const lock = options.lock ?? new MemoryLeaseLock();
    super({ ...options, lock });
    this.lock = lock;
  }
}

export interface StaticLeaderElectorOptions {
  readonly identity: string;
  readonly clock?: Clock;
}

/** For a single replica: the leader from `start()` until `stop()`, with no lease at all. */
export class StaticLeaderElector implements LeaderElector {
  readonly identity: string;
  readonly #clock: Clock;
  readonly #events = new OrderedEmitter<LeaderEvent>();
  #term: AbortController | undefined;

  constructor(options: StaticLeaderElectorOptions) {
    if (typeof options?.identity !== 'string' || options.identity === '') {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'identity must be a non-empty string');
    }
    this.identity = options.identity;
    this.#clock = options.clock ?? systemClock;
  }

  start(): void {
    if (this.#term) return;
    this.#term = new AbortController();
    const at = this.#clock.now();
    this.#events.emit({ type: 'observed', holder: this.identity, at });
    this.#events.emit({ type: 'elected', identity: this.identity, at });
  }

  async stop(): Promise<void> {
    const term = this.#term;
    if (!term) return;
    this.#term = undefined;
    term.abort(new CertloopError('CERTLOOP_LEADERSHIP_LOST', 'stopped'));
    const at = this.#clock.now();
    this.#events.emit({ type: 'lost', identity: this.identity, at, reason: 'stopped' });
    this.#events.emit({ type: 'observed', holder: undefined, at });
  }

  isLeader(): boolean {
    return this.#term !== undefined;
  }

  leadershipSignal(): AbortSignal | undefined {
    return this.#term?.signal;
  }

  subscribe(listener: (event: LeaderEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }
}
