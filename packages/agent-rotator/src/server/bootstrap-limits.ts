/**
 * `@certloop/agent-rotator` failed-bootstrap limits: how many wrong tokens the server evaluates, so guessing is
 * bounded while one client behind a shared address (a NAT, a load balancer) cannot lock out the others.
 *
 * Two token buckets, both charged by every failed attempt and both checked before a token is looked at:
 * - per (address, cluster): a misconfigured or hostile client exhausts only its own pair; agents of other clusters
 *   behind the same address keep bootstrapping (a failure limit per address alone locked them all out);
 * - one global budget of failures per window, whatever the address or cluster: a client that rotates cluster
 *   names (fresh pairs) gets at most the budget of guesses per window in all. Once it is spent, bootstraps are
 *   refused everywhere until it refills: the price of a bound on guessing. Established agents renew over mutual
 *   TLS and are never affected.
 * Refusals are `CERTLOOP_RATE_LIMITED` with `details.scope` (`cluster` or `global`). A correct token costs neither
 * bucket anything.
 */
import { CertloopError, type Clock } from '@certloop/core';
import { PeerRateLimiter, type RateLimitOptions } from './rate-limit.js';

export interface BootstrapLimitOptions {
  /** Failed attempts per (address, cluster) (default burst 5, one more per 12 s). */
  readonly perCluster?: RateLimitOptions | undefined;
  /** Failed attempts in all (default burst 100, one more per second). */
  readonly global?: RateLimitOptions | undefined;
  readonly clock: Clock;
}

const GLOBAL = '*';

export class BootstrapFailureLimiter {
  readonly #perCluster: PeerRateLimiter;
  readonly #global: PeerRateLimiter;

  constructor(options: BootstrapLimitOptions) {
    this.#perCluster = new PeerRateLimiter({
      ...(options.perCluster ?? { burst: 5, perSecond: 1 / 12 }),
      clock: options.clock,
    });
    this.#global = new PeerRateLimiter({ ...(options.global ?? { burst: 100, perSecond: 1 }), clock: options.clock });
  }

  static #key(address: string, cluster: string): string {
    return `${address}\u0000${cluster}`;
  }

  /** Throws `CERTLOOP_RATE_LIMITED` when a token from this pair may not be evaluated now. */
  admit(address: string, cluster: string): void {
    if (!this.#perCluster.allows(BootstrapFailureLimiter.#key(address, cluster))) {
      throw new CertloopError(
        'CERTLOOP_RATE_LIMITED',
        'too many failed bootstrap attempts for this cluster from this address',
        {
          details: { scope: 'cluster' },
        },
      );
    }
    if (!this.#global.allows(GLOBAL)) {
      throw new CertloopError('CERTLOOP_RATE_LIMITED', 'too many failed bootstrap attempts: try again later', {
        details: { scope: 'global' },
      });
    }
  }

  /** Records a failed attempt (a wrong or missing token). */
  failed(address: string, cluster: string): void {
    this.#perCluster.charge(BootstrapFailureLimiter.#key(address, cluster));
    this.#global.charge(GLOBAL);
  }
}
