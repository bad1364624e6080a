/**
 * `@certloop/core` StoreLeaseLock: a {@link LeaseLock} kept in a secret of any {@link SecretStore}.
 *
 * The record is one data key, `lease.json` (JSON, times as Kubernetes MicroTime strings), in a secret of type
 * `certloop.io/lease`. The store's compare-and-swap is the lock's: `create` puts with `expectedVersion: null`,
 * `update` with the version read, and the store's `CERTLOOP_CONFLICT` passes through unchanged. A secret that does
 * not decode to a valid record is `CERTLOOP_STORE_CORRUPT` (the elector counts it as a failed round).
 */
import { CertloopError, isCertloopError } from '../errors.js';
import type { Secret, SecretInput, SecretStore } from '../store/types.js';
import type { LeaseLock, LeaseLockCallOptions, LeaseRecord, LeaseUpdate, VersionedLeaseRecord } from './lease-lock.js';
import { formatMicroTime, parseMicroTime } from './micro-time.js';

/** The secret type of a stored lease. */
export const LEASE_SECRET_TYPE = 'certloop.io/lease';
/** The data key holding the lease record. */
export const LEASE_DATA_KEY = 'lease.json';

const MAX_LEASE_BYTES = 64 * 1024;

export interface StoreLeaseLockOptions {
  readonly store: SecretStore;
  /** The secret's name (a DNS subdomain, as every store requires). */
  readonly name: string;
}

export class StoreLeaseLock implements LeaseLock {
  readonly name: string;
  readonly #store: SecretStore;

  constructor(options: StoreLeaseLockOptions) {
    if (!options?.store || typeof options.store.put !== 'function') {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'StoreLeaseLock needs a SecretStore');
    }
    if (typeof options.name !== 'string' || options.name === '') {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'StoreLeaseLock needs a secret name');
    }
    this.#store = options.store;
    this.name = options.name;
  }

  describe(): string {
    return `secret/${this.name}`;
  }

  async get(options: LeaseLockCallOptions = {}): Promise<VersionedLeaseRecord | undefined> {
    const secret = await this.#store.get(this.name, { signal: options.signal });
    if (!secret) return undefined;
    return { record: decodeLeaseSecret(secret), version: secret.version };
  }

  async create(record: LeaseRecord, options: LeaseLockCallOptions = {}): Promise<{ version: string }> {
    const input = encodeLeaseSecret(record);
    const written = await this.#store.put(this.name, input, { expectedVersion: null, signal: options.signal });
    return { version: written.version };
  }

  async update({ record, expectedVersion }: LeaseUpdate, options: LeaseLockCallOptions = {}) {
    const input = encodeLeaseSecret(record);
    const written = await this.#store.put(this.name, input, { expectedVersion, signal: options.signal });
    return { version: written.version };
  }
}

function encodeLeaseSecret(record: LeaseRecord): SecretInput {
  const problem = recordProblem(record);
  if (problem) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', `invalid lease record: ${problem}`);
  const json = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime && { acquireTime: formatMicroTime(record.acquireTime) }),
    ...(record.renewTime && { renewTime: formatMicroTime(record.renewTime) }),
    leaseTransitions: record.leaseTransitions,
  };
  return { type: LEASE_SECRET_TYPE, data: { [LEASE_DATA_KEY]: new TextEncoder().encode(JSON.stringify(json)) } };
}

function decodeLeaseSecret(secret: Secret): LeaseRecord {
  const bytes = secret.data[LEASE_DATA_KEY];
  if (secret.type !== LEASE_SECRET_TYPE || !bytes) throw corrupt(secret, `not a ${LEASE_SECRET_TYPE} secret`);
  if (bytes.byteLength > MAX_LEASE_BYTES) throw corrupt(secret, 'lease record too large');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw corrupt(secret, 'lease record is not JSON', cause);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(secret, 'not a JSON object');
  const raw = json as Record<string, unknown>;
  let record: LeaseRecord;
  try {
    record = {
      holderIdentity: raw.holderIdentity as string,
      leaseDurationSeconds: raw.leaseDurationSeconds as number,
      ...(raw.acquireTime !== undefined && { acquireTime: parseMicroTime(raw.acquireTime as string) }),
      ...(raw.renewTime !== undefined && { renewTime: parseMicroTime(raw.renewTime as string) }),
      leaseTransitions: raw.leaseTransitions as number,
    };
  } catch (cause) {
    if (!isCertloopError(cause, 'CERTLOOP_INVALID_ARGUMENT')) throw cause;
    throw corrupt(secret, 'lease times are not MicroTime', cause);
  }
  const problem = recordProblem(record);
  if (problem) throw corrupt(secret, problem);
  return record;
}

/** Why `record` is not a valid lease record (Kubernetes' LeaseSpec rules), or undefined. */
function recordProblem(record: LeaseRecord): string | undefined {
  if (typeof record.holderIdentity !== 'string') return 'holderIdentity must be a string';
  if (!Number.isSafeInteger(record.leaseDurationSeconds) || record.leaseDurationSeconds <= 0) {
    return 'leaseDurationSeconds must be a positive integer';
  }
  if (!Number.isSafeInteger(record.leaseTransitions) || record.leaseTransitions < 0) {
    return 'leaseTransitions must be a non-negative integer';
  }
  return undefined;
}

function corrupt(secret: Secret, problem: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_STORE_CORRUPT', `lease secret ${secret.name}: ${problem}`, {
    cause,
    details: { name: secret.name, version: secret.version },
  });
}
