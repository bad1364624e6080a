/**
 * `@certloop/core` CA rotation: the contracts through which a rotation sees its consumers and reaches them. The relay
 * server implements both for its agents; a bring-your-own consumer is confirmed by hand or by a timeout instead.
 */

/** Who reported a bundle. */
export type BundleConsumerKind = 'agent' | 'replica' | 'provider' | 'bring-your-own';

/** One consumer's latest report of the trust bundle it holds. */
export interface BundleObservation {
  /** Stable id, unique per kind: the cluster name for an agent, the replica's identity, the provider's secret name. */
  readonly consumer: string;
  readonly kind: BundleConsumerKind;
  /** `trustBundleDigest` of the bundle the consumer holds now. */
  readonly bundleDigest: string;
  /** When the consumer last reported (wall clock of the observer). */
  readonly observedAt: Date;
  /** Free text for progress lines (replica count, agent version). */
  readonly detail?: string;
}

/**
 * Where a rotation learns which bundle each consumer holds.
 * Contract: resolves the latest observation of every consumer known to the source (consumers that never reported
 * are absent); safe for concurrent use; honours `signal`; never throws for an empty table.
 */
export interface ConvergenceSource {
  observations(options?: { readonly signal?: AbortSignal }): Promise<readonly BundleObservation[]>;
}

export interface RenewalRequest {
  /** Why (shown to agents and in logs), e.g. `intermediate rotation: drain`. */
  readonly reason: string;
  /**
   * Lower-case hex subject key identifier of the CA that now signs. A consumer whose client certificate was issued by
   * another key renews; one already issued by it ignores the request.
   */
  readonly activeIssuerKeyId: string;
}

/**
 * Asks the consumers that hold leaves under an old CA to renew now (the drain phase).
 * Contract: best effort and idempotent; resolves how many consumers were told; a consumer that misses the request
 * still renews through its own rotator (which renews when its issuer is not the active one).
 */
export interface RenewalRequester {
  requestRenewal(
    request: RenewalRequest,
    options?: { readonly signal?: AbortSignal },
  ): Promise<{ readonly notified: number }>;
}
