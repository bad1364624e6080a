/**
 * `@certloop/core` MemoryLeaseLock: a {@link LeaseLock} held in this process's memory.
 *
 * Share one instance between several electors of one process (workers, tests, simulations); it is not visible to
 * other processes (use `FileLeaseElector` or a Kubernetes Lease for that).
 */
import { CertloopError, throwIfAborted } from '../errors.js';
import type { LeaseLock, LeaseLockCallOptions, LeaseRecord, LeaseUpdate, VersionedLeaseRecord } from './lease-lock.js';

export interface MemoryLeaseLockOptions {
  /** The lease's name, for `describe()` (default `certloop-leader`). */
  readonly name?: string;
}

export class MemoryLeaseLock implements LeaseLock {
  readonly name: string;
  #stored: VersionedLeaseRecord | undefined;
  #writes = 0;

  constructor(options: MemoryLeaseLockOptions = {}) {
    this.name = options.name ?? 'certloop-leader';
  }

  describe(): string {
    return `memory/${this.name}`;
  }

  async get(options: LeaseLockCallOptions = {}): Promise<VersionedLeaseRecord | undefined> {
    throwIfAborted(options.signal);
    const stored = this.#stored;
    return stored && { record: copyRecord(stored.record), version: stored.version };
  }

  async create(record: LeaseRecord, options: LeaseLockCallOptions = {}): Promise<{ version: string }> {
    throwIfAborted(options.signal);
    if (this.#stored) throw this.#conflict('the lease already exists');
    return this.#write(record);
  }

  async update({ record, expectedVersion }: LeaseUpdate, options: LeaseLockCallOptions = {}) {
    throwIfAborted(options.signal);
    if (!this.#stored) throw this.#conflict('the lease does not exist');
    if (this.#stored.version !== expectedVersion) throw this.#conflict('the lease changed since it was read');
    return this.#write(record);
  }

  #write(record: LeaseRecord): { version: string } {
    this.#writes += 1;
    const version = String(this.#writes);
    this.#stored = { record: copyRecord(record), version };
    return { version };
  }

  #conflict(message: string): CertloopError {
    return new CertloopError('CERTLOOP_CONFLICT', message, { details: { lock: this.describe() } });
  }
}

function copyRecord(record: LeaseRecord): LeaseRecord {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime && { acquireTime: new Date(record.acquireTime.getTime()) }),
    ...(record.renewTime && { renewTime: new Date(record.renewTime.getTime()) }),
    leaseTransitions: record.leaseTransitions,
  };
}
