/**
 * `@certloop/core` CredentialProvider options and events, and the validation of the options.
 */
import type { Clock } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import type { Watcher } from '../watch/types.js';
import type { CrlInput } from '../x509/crl.js';
import type { TlsMaterial } from './material.js';

export type ProviderEvent =
  | { readonly type: 'updated'; readonly material: TlsMaterial; readonly previous: TlsMaterial | undefined }
  | { readonly type: 'rejected'; readonly name: string; readonly version: string; readonly error: CertloopError }
  | { readonly type: 'deleted'; readonly name: string }
  /** The current material has less than `expiringBeforeMs` left (once per material). */
  | { readonly type: 'expiring'; readonly material: TlsMaterial; readonly remainingMs: number }
  /**
   * The current material passed its notAfter with nothing valid to replace it (once per material). `serving` tells
   * the policy: true, it is still served (the default); false, `refuseExpired` is set and new handshakes fail.
   */
  | { readonly type: 'expired'; readonly material: TlsMaterial; readonly serving: boolean }
  | { readonly type: 'watch-error'; readonly error: CertloopError };

/** What `ready()` does when the material found cannot be used (expired, not yet valid, invalid). */
export type ReadyPolicy = 'reject' | 'wait';

export interface CredentialProviderOptions {
  /** The secret holding `tls.crt`, `tls.key` and (optionally) `ca.crt`. */
  readonly name: string;
  /** Source of the secret's states; without it, feed the provider with `offer`. */
  readonly watcher?: Watcher;
  /** Extended key usage the certificate must allow: `serverAuth` for servers, `clientAuth` for clients. */
  readonly usage?: 'serverAuth' | 'clientAuth';
  /** Roots to validate the chain against (and to verify peers with) instead of the secret's `ca.crt`. */
  readonly trustBundlePem?: string;
  /** Refuse material that has no trust bundle to validate against (default false). */
  readonly requireTrustBundle?: boolean;
  /** Lowest TLS version offered (default TLS 1.3; 1.2 is the lowest allowed). */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * When the only material there is cannot be used (e.g. a restart finds an expired certificate): `reject` (the
   * default) makes `ready()` reject with why (`CERTLOOP_CREDENTIAL_EXPIRED`, or `CERTLOOP_CREDENTIAL_INVALID` with
   * the cause); `wait` makes it resolve on the first valid material instead. A secret that does not exist yet is
   * waited for under both (pass a signal to bound the wait).
   */
  readonly readyPolicy?: ReadyPolicy;
  /**
   * What happens when the material being served expires with nothing to replace it. Default false: keep serving
   * it (Gloo's seed: established connections stay valid; peers that check validity refuse new handshakes with
   * `CERT_HAS_EXPIRED`). True: fail fast: `secureContext()`, `secureContextOptions()` and `ready()` throw
   * `CERTLOOP_CREDENTIAL_EXPIRED` and bound servers refuse new handshakes. Established connections are kept under
   * both; the first valid material restores serving.
   */
  readonly refuseExpired?: boolean;
  /**
   * The least remaining lifetime (ms, at the time of the offer) a certificate must have to replace current
   * material that is valid and lasts longer; such an update is rejected (`CERTLOOP_CREDENTIAL_INVALID`, cause
   * `CERTLOOP_CREDENTIAL_EXPIRES_TOO_SOON`). With nothing valid to serve, any valid material is taken. Default 0 (off).
   */
  readonly minRemainingLifetimeMs?: number;
  /**
   * How long before notAfter the `expiring` event fires (default: a tenth of the certificate's lifetime, at most
   * one day). 0 turns the event off.
   */
  readonly expiringBeforeMs?: number;
  /**
   * The longest the provider waits between checks of its material against the wall clock (default 5 minutes):
   * its timers run on durations, so this bounds how late a wall-clock step is noticed.
   */
  readonly recheckIntervalMs?: number;
  readonly clock?: Clock;
  /**
   * CRLs (PEM or DER) peers are checked against: a peer whose certificate is listed fails the handshake. OpenSSL
   * (through Node) then wants a CRL from every CA of a peer's chain; see `CredentialProvider.setCrls`.
   */
  readonly crls?: CrlInput;
}

export const PROVIDER_DEFAULTS = Object.freeze({
  readyPolicy: 'reject' as ReadyPolicy,
  recheckIntervalMs: 5 * 60_000,
  expiringAtMostMs: 86_400_000,
  expiringShare: 0.1,
});

/** Throws `CERTLOOP_INVALID_CONFIG` for options that cannot work. */
export function validateProviderOptions(options: CredentialProviderOptions): void {
  const invalid = (message: string) => new CertloopError('CERTLOOP_INVALID_CONFIG', message);
  if (typeof options?.name !== 'string' || options.name === '') throw invalid('name must be a non-empty string');
  if (options.minVersion && options.minVersion !== 'TLSv1.2' && options.minVersion !== 'TLSv1.3') {
    throw invalid('minVersion must be TLSv1.2 or TLSv1.3');
  }
  if (options.readyPolicy !== undefined && options.readyPolicy !== 'reject' && options.readyPolicy !== 'wait') {
    throw invalid('readyPolicy must be reject or wait');
  }
  const durations = {
    minRemainingLifetimeMs: options.minRemainingLifetimeMs,
    expiringBeforeMs: options.expiringBeforeMs,
  };
  for (const [name, value] of Object.entries(durations)) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw invalid(`${name} must be a non-negative number of milliseconds`);
    }
  }
  const recheck = options.recheckIntervalMs;
  if (recheck !== undefined && (typeof recheck !== 'number' || !Number.isFinite(recheck) || recheck <= 0)) {
    throw invalid('recheckIntervalMs must be a positive number of milliseconds');
  }
}
