/**
 * `@certloop/agent-rotator` issuance window: the server refuses a request it could only answer with a certificate
 * already due for renewal, instead of issuing one that sends the agent straight back (a bootstrap or renewal loop).
 *
 * A certificate is due when `notAfter - ratio * (notAfter - notBefore)` (core's grace-ratio math, without jitter)
 * is not later than now. The CA backdates notBefore for clock skew (60 s by default), so a lifetime shorter than
 * the backdate is more than half spent the moment it is issued: 30 s certificates at ratio 0.5 are due at once.
 * The ratio is the agent's (`renewal_ratio` in the request); an agent that does not send it is judged at 0.5 (a
 * certificate more than half spent when issued). The check runs twice: before signing, on the validity the CA
 * will give (the configured backdate, the requested lifetime), and after, on the validity it gave (an injected CA
 * whose backdate is unknown, or a CA whose own notAfter cut the lifetime short).
 */
import { CertloopError } from '@certloop/core';

/** The ratio an agent that does not say is judged at. */
export const ASSUMED_RATIO = 0.5;

/** The agent's ratio from a request field (0 or out of range: not given). */
export function requestedRatio(value: unknown): number {
  return typeof value === 'number' && value > 0 && value < 1 ? value : ASSUMED_RATIO;
}

/** Throws `CERTLOOP_LIFETIME_TOO_SHORT` when a certificate with this validity is due for renewal at `now`. */
export function assertNotDueAtIssuance(
  validity: { notBefore: number; notAfter: number },
  ratio: number,
  now: number,
): void {
  const renewAt = validity.notAfter - ratio * (validity.notAfter - validity.notBefore);
  if (renewAt > now) return;
  throw new CertloopError(
    'CERTLOOP_LIFETIME_TOO_SHORT',
    'the certificate would be due for renewal as soon as it is issued: ask for a longer lifetime',
    {
      details: {
        lifetimeSeconds: Math.round((validity.notAfter - now) / 1000),
        backdateSeconds: Math.round((now - validity.notBefore) / 1000),
        ratio,
      },
    },
  );
}
