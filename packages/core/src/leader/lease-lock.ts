/**
 * `@certloop/core` LeaseLock contract: the storage a {@link LeaseElector} campaigns on.
 *
 * The election algorithm (client-go's) is the same over every backend; a backend only stores one record under
 * compare-and-swap. Backends: `MemoryLeaseLock` (one process), `StoreLeaseLock` (any `SecretStore`, e.g. files),
 * and a Kubernetes `coordination.k8s.io/v1` Lease in `@certloop/k8s-store`.
 */

/** The lease as stored: the fields of a Kubernetes LeaseSpec that leader election uses. */
export interface LeaseRecord {
  /** Who holds the lease; `''` means free (released), and can be taken at once. */
  readonly holderIdentity: string;
  /** How long, from a candidate's own observation of a change, the holder keeps the lease. A positive integer. */
  readonly leaseDurationSeconds: number;
  /** When the current holder acquired it (the holder's clock; informational, never used to judge expiry). */
  readonly acquireTime?: Date;
  /** When the current holder last renewed it (the holder's clock; informational, never used to judge expiry). */
  readonly renewTime?: Date;
  /** How many times the lease changed hands. A non-negative integer. */
  readonly leaseTransitions: number;
}

/** A record together with the opaque version it was read or written at (compare for equality only). */
export interface VersionedLeaseRecord {
  readonly record: LeaseRecord;
  readonly version: string;
}

/** A compare-and-swap write: `record` replaces the stored one only if it is still at `expectedVersion`. */
export interface LeaseUpdate {
  readonly record: LeaseRecord;
  readonly expectedVersion: string;
}

export interface LeaseLockCallOptions {
  /** An aborted call rejects with `CERTLOOP_ABORTED` and, if it had not yet committed, writes nothing. */
  readonly signal?: AbortSignal;
}

/**
 * Contract, for every backend:
 * - One named record, shared by every candidate (in this process or others) that campaigns for the same lease.
 * - `get` resolves `undefined` when no record exists yet; it never throws for "missing".
 * - `create` writes the first record; if one already exists it throws `CERTLOOP_CONFLICT` and writes nothing.
 * - `update` is a compare-and-swap: it writes `record` only if the stored version is exactly `expectedVersion`, else it
 *   throws `CERTLOOP_CONFLICT` and writes nothing (a missing record is a conflict too). This is the fence that keeps
 *   two candidates from both taking the lease.
 * - `create` and `update` resolve the new version; every write changes the version.
 * - Writes are atomic (a reader sees the old or the new record whole). Records are copied in and out.
 * - Any other failure (I/O, corrupt data) throws a `CertloopError`; the elector treats it as a failed round.
 * - Safe for concurrent use; every call honours `signal`.
 */
export interface LeaseLock {
  /** A human-readable name of the lock (for logs and event reasons), e.g. `memory/certloop-leader`. */
  describe(): string;
  get(options?: LeaseLockCallOptions): Promise<VersionedLeaseRecord | undefined>;
  create(record: LeaseRecord, options?: LeaseLockCallOptions): Promise<{ version: string }>;
  update(request: LeaseUpdate, options?: LeaseLockCallOptions): Promise<{ version: string }>;
}
