/**
 * `@certloop/core` LeaseElector timings and their validation (client-go's rules).
 */
import { CertloopError } from '../errors.js';
import type { LeaseLock } from './lease-lock.js';

/** The three durations of client-go's leader election, in milliseconds. */
export interface LeaseElectorTimings {
  /** How long a non-holder waits, from its own observation of the last change, before taking over (default 15000). */
  readonly leaseDurationMs?: number;
  /** How long a holder keeps leading without a successful renew (default 10000). */
  readonly renewDeadlineMs?: number;
  /** How often candidates try to acquire and the holder renews (default 2000). */
  readonly retryPeriodMs?: number;
}

/** client-go's defaults. */
export const LEASE_ELECTOR_DEFAULTS = Object.freeze({
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

/**
 * Throws `CERTLOOP_INVALID_CONFIG` unless leaseDuration > renewDeadline > 1.2 × retryPeriod > 0 (client-go's rule:
 * the holder gives up before anyone else may take over, and has time for more than one renew attempt),
 * the identity is a non-empty string and the lock looks like a {@link LeaseLock}.
 */
export function validateLeaseElectorOptions(
  options: LeaseElectorTimings & { readonly lock: LeaseLock; readonly identity: string },
): void {
  const lease = options.leaseDurationMs ?? LEASE_ELECTOR_DEFAULTS.leaseDurationMs;
  const renew = options.renewDeadlineMs ?? LEASE_ELECTOR_DEFAULTS.renewDeadlineMs;
  const retry = options.retryPeriodMs ?? LEASE_ELECTOR_DEFAULTS.retryPeriodMs;
  const timings = { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry };
  for (const [name, value] of Object.entries(timings)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw invalid(`${name} must be a positive number of milliseconds`, timings);
    }
  }
  if (lease <= renew) throw invalid('leaseDurationMs must be greater than renewDeadlineMs', timings);
  if (renew <= 1.2 * retry) throw invalid('renewDeadlineMs must be greater than 1.2 × retryPeriodMs', timings);
  if (typeof options.identity !== 'string' || options.identity === '') {
    throw invalid('identity must be a non-empty string', timings);
  }
  const lock = options.lock as Partial<LeaseLock> | undefined;
  if (
    !lock ||
    typeof lock.get !== 'function' ||
    typeof lock.create !== 'function' ||
    typeof lock.update !== 'function'
  ) {
    throw invalid('lock must be a LeaseLock', timings);
  }
}

function invalid(message: string, details: Record<string, unknown>): CertloopError {
  return new CertloopError('CERTLOOP_INVALID_CONFIG', message, { details });
}
