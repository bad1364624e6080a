/**
 * Internal test support for the leader folder (not exported): a lock wrapper whose I/O can be paused or failed,
 * a skewed view of a clock, an event recorder and a tiny compare-and-swap SecretStore.
 */
import type { Clock } from '../clock/clock.js';
import { abortError, CertloopError, throwIfAborted } from '../errors.js';
import type { PutOptions, Secret, SecretInput, SecretStore, StoreCallOptions } from '../store/types.js';
import type { LeaseLock, LeaseLockCallOptions, LeaseRecord, LeaseUpdate, VersionedLeaseRecord } from './lease-lock.js';
import type { LeaderElector, LeaderEvent } from './types.js';

/** `pass`: normal; `fail`: every call throws `CERTLOOP_STORE_IO`; `block`: calls hang until resumed or aborted. */
export type LockMode = 'pass' | 'fail' | 'block';

export interface LockCall {
  readonly op: 'get' | 'create' | 'update';
  readonly at: number;
  readonly ok: boolean;
  readonly version?: string | undefined;
}

/** Wraps a real lock; its I/O can be paused (a partitioned or frozen replica) or failed, and every call is logged. */
export class ControlledLock implements LeaseLock {
  mode: LockMode = 'pass';
  readonly calls: LockCall[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(
    readonly inner: LeaseLock,
    readonly clock: Clock,
  ) {}

  describe(): string {
    return `controlled(${this.inner.describe()})`;
  }

  /** Back to `pass`, releasing blocked calls (which then reach the inner lock). */
  resume(): void {
    this.mode = 'pass';
    for (const wake of [...this.#waiters]) wake();
  }

  get(options: LeaseLockCallOptions = {}): Promise<VersionedLeaseRecord | undefined> {
    return this.#call(
      'get',
      options,
      () => this.inner.get(options),
      (result) => result?.version,
    );
  }

  create(record: LeaseRecord, options: LeaseLockCallOptions = {}): Promise<{ version: string }> {
    return this.#call(
      'create',
      options,
      () => this.inner.create(record, options),
      (result) => result.version,
    );
  }

  update(request: LeaseUpdate, options: LeaseLockCallOptions = {}) {
    return this.#call(
      'update',
      options,
      () => this.inner.update(request, options),
      (result) => result.version,
    );
  }

  async #call<T>(
    op: LockCall['op'],
    options: LeaseLockCallOptions,
    run: () => Promise<T>,
    version: (result: T) => string | undefined,
  ): Promise<T> {
    try {
      await this.#gate(options.signal);
      const result = await run();
      this.calls.push({ op, at: this.clock.now().getTime(), ok: true, version: version(result) });
      return result;
    } catch (err) {
      this.calls.push({ op, at: this.clock.now().getTime(), ok: false });
      throw err;
    }
  }

  async #gate(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (this.mode === 'fail') throw new CertloopError('CERTLOOP_STORE_IO', 'injected lock failure');
    if (this.mode !== 'block') return;
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(abortError(signal));
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A view of a shared clock with its own wall clock: the same timers and monotonic reading as `base`. */
export interface SkewedClock extends Clock {
  /** Steps this view's wall clock by `deltaMs` (negative: back), as NTP or an operator would on one host. */
  stepWall(deltaMs: number): void;
}

/** The same timers and monotonic time as `base`, but `now()` shifted by `offsetMs` (a replica whose wall clock is wrong). */
export function skewedClock(base: Clock, offsetMs: number): SkewedClock {
  let offset = offsetMs;
  return {
    now: () => new Date(base.now().getTime() + offset),
    monotonicNow: () => base.monotonicNow(),
    setTimeout: (callback, delayMs) => base.setTimeout(callback, delayMs),
    clearTimeout: (handle) => base.clearTimeout(handle),
    stepWall: (deltaMs) => {
      offset += deltaMs;
    },
  };
}

/** Every event the elector emits, in order. */
export function recordEvents(elector: LeaderElector): LeaderEvent[] {
  const events: LeaderEvent[] = [];
  elector.subscribe((event) => events.push(event));
  return events;
}

/** A minimal in-memory SecretStore with compare-and-swap, enough to drive a StoreLeaseLock in tests. */
export class TinySecretStore implements SecretStore {
  readonly #secrets = new Map<string, Secret>();
  #writes = 0;

  async get(name: string, options: StoreCallOptions = {}): Promise<Secret | undefined> {
    throwIfAborted(options.signal);
    return this.#secrets.get(name);
  }

  async put(name: string, input: SecretInput, options: PutOptions = {}): Promise<Secret> {
    throwIfAborted(options.signal);
    const current = this.#secrets.get(name);
    const expected = options.expectedVersion;
    if (expected === null ? current !== undefined : expected !== undefined && current?.version !== expected) {
      throw new CertloopError('CERTLOOP_CONFLICT', 'version mismatch', { details: { name } });
    }
    this.#writes += 1;
    const secret: Secret = {
      name,
      type: input.type ?? 'Opaque',
      data: Object.fromEntries(Object.entries(input.data).map(([key, value]) => [key, Uint8Array.from(value)])),
      labels: { ...input.labels },
      annotations: { ...input.annotations },
      version: String(this.#writes),
    };
    this.#secrets.set(name, secret);
    return secret;
  }

  async delete(name: string): Promise<boolean> {
    return this.#secrets.delete(name);
  }

  async list(): Promise<Secret[]> {
    return [...this.#secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
