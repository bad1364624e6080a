/**
 * `@certloop/agent-rotator` agent halts: the refusals an agent must not retry, because retrying cannot help and only
 * loads the server, and what makes it try again.
 *
 * - `revoked` (`CERTLOOP_CHAIN_REVOKED`): its client certificate is in the CRL. Renewing with it or reconnecting
 *   with it is refused forever; bootstrapping again with the same token would undo the revocation. The agent stops
 *   its rotator and its stream until its material changes: a new client secret (someone wrote a new certificate)
 *   or a new token (it then bootstraps at once, not renewing with the revoked certificate).
 * - `lifetime-too-short` (`CERTLOOP_LIFETIME_TOO_SHORT`): the server will not issue a certificate that is due for
 *   renewal the moment it is issued (the lifetime asked for is shorter than the CA's backdate allows at this
 *   ratio). The rotator stops (an established stream stays) until the client secret or the token changes, or the
 *   agent is restarted with other settings.
 */
import type { CertloopError } from '@certloop/core';

export type HaltReason = 'revoked' | 'lifetime-too-short';

/** What a halted agent remembers: why, since when, and the material it halted with. */
export interface HaltState {
  readonly reason: HaltReason;
  readonly code: CertloopError['code'];
  readonly since: Date;
  /** Serial of the client certificate in force when it halted. */
  readonly serialNumber: string | undefined;
  readonly clientVersion: string | undefined;
  readonly tokenVersion: string | undefined;
}

/** The halt a refusal calls for, or undefined for refusals worth retrying. */
export function haltReasonOf(error: CertloopError | undefined): HaltReason | undefined {
  if (error?.code === 'CERTLOOP_CHAIN_REVOKED') return 'revoked';
  if (error?.code === 'CERTLOOP_LIFETIME_TOO_SHORT') return 'lifetime-too-short';
  return undefined;
}

/** Which change of material ends the halt (undefined: none, stay halted). */
export function resumedBy(
  halt: HaltState,
  change: { readonly kind: 'client-secret' | 'token'; readonly version: string | undefined },
): 'client-secret' | 'token' | undefined {
  if (change.version === undefined) return undefined; // a deleted secret is no new material
  if (change.kind === 'client-secret' && change.version !== halt.clientVersion) return 'client-secret';
  if (change.kind === 'token' && change.version !== halt.tokenVersion) return 'token';
  return undefined;
}
