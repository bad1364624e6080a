/**
 * `@certloop/core` grace-ratio math: when a certificate's rotation starts.
 *
 * The ratio is the share of the lifetime LEFT when rotation starts (as in Gloo's
 * `clientTlsSecretRotationGracePeriodRatio`, Istio and CertMagic):
 * `renewAt = notAfter - ratio * (notAfter - notBefore)`. A 365-day certificate at 0.1 renews 36.5 days before
 * expiry. Jitter only ever moves the time earlier, by at most `jitter * ratio * lifetime`, so the configured
 * ratio is a promise. Results are whole seconds (ASN.1 time resolution), rounded down (earlier).
 */
import { CertloopError } from '../errors.js';

export interface RenewalTimeInput {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Share of the lifetime left when rotation starts, in (0, 1). */
  readonly ratio: number;
  /** Share of the grace period by which renewal may move earlier, in [0, 1). Default 0. */
  readonly jitter?: number;
  /** A source of uniform numbers in [0, 1); default `Math.random`. */
  readonly random?: () => number;
}

/** Throws `CERTLOOP_INVALID_CONFIG` unless `ratio` is a number strictly between 0 and 1. */
export function assertGraceRatio(ratio: number): void {
  if (!Number.isFinite(ratio) || ratio <= 0 || ratio >= 1) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', `grace ratio must be in (0, 1), got ${ratio}`, {
      details: { ratio },
    });
  }
}

/** Throws `CERTLOOP_INVALID_CONFIG` unless `jitter` is in [0, 1). */
export function assertJitter(jitter: number): void {
  if (!Number.isFinite(jitter) || jitter < 0 || jitter >= 1) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', `jitter must be in [0, 1), got ${jitter}`, {
      details: { jitter },
    });
  }
}

/** The time rotation of a certificate valid from `notBefore` to `notAfter` starts. Pure. */
export function renewalTime(input: RenewalTimeInput): Date {
  const { notBefore, notAfter, ratio } = input;
  const jitter = input.jitter ?? 0;
  assertGraceRatio(ratio);
  assertJitter(jitter);
  const start = Math.floor(notBefore.getTime() / 1000);
  const end = Math.floor(notAfter.getTime() / 1000);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'notAfter must be later than notBefore', {
      details: { notBefore: String(notBefore), notAfter: String(notAfter) },
    });
  }
  const grace = ratio * (end - start);
  let earlier = 0;
  if (jitter > 0) {
    const draw = (input.random ?? Math.random)();
    const unit = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0;
    earlier = jitter * grace * unit;
  }
  // floor keeps the result at or before the exact ratio point, never later
  const seconds = Math.max(start, Math.floor(end - grace - earlier));
  return new Date(seconds * 1000);
}
