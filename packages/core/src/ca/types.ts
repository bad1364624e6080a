/**
 * `@certloop/core` CertificateAuthority contract, with its request and response types.
 */
import type { RevocationReason } from '../x509/crl.js';

export type { RevocationReason };

/** What an issued certificate is for. `intermediate` issues a CA certificate. */
export type CertificateProfile = 'server' | 'client' | 'server+client' | 'intermediate';

/**
 * The identity a caller authenticated as (by token or by its current client certificate). When given to
 * `sign`, the CSR must name exactly this identity: its CN equals `commonName` and its SANs are a subset of
 * the listed ones; anything else is refused with `CERTLOOP_CSR_IDENTITY_MISMATCH`.
 */
export interface Identity {
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly uris?: readonly string[];
}

export interface SignRequest {
  /** PKCS#10 CSR, PEM. Its signature is checked (proof of possession). */
  readonly csrPem: string;
  /** Requested lifetime in seconds; the CA may refuse or shorten it per its policy. */
  readonly lifetimeSeconds: number;
  readonly profile: CertificateProfile;
  readonly identity?: Identity;
  /** For `intermediate`: the pathLenConstraint to set. */
  readonly pathLength?: number;
  /** Correlates logs and audit records. */
  readonly requestId?: string;
}

export interface SignResult {
  /** The issued certificate, PEM. */
  readonly certificatePem: string;
  /** Certificates between the leaf and the trust anchor, issuer first, PEM (may be empty). */
  readonly chainPem: string;
  /** The roots a peer should trust, PEM (several while a root is being replaced). */
  readonly trustBundlePem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lower-case hex, no separators. */
  readonly serialNumber: string;
}

export interface CaCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * Contract:
 * - `sign` checks the CSR's signature, the identity binding and the CA's policy, and never issues past its own
 *   notAfter unless its policy says to truncate. Every refusal is a `CertloopError` with a stable code.
 * - Safe for concurrent use; honours `signal`.
 * - `trustBundle` resolves the PEM roots a relying party should trust.
 * Optional abilities are separate interfaces found by type guards (see {@link KeyIssuingAuthority}).
 */
export interface CertificateAuthority {
  sign(request: SignRequest, options?: CaCallOptions): Promise<SignResult>;
  trustBundle(options?: CaCallOptions): Promise<string>;
}

/** Optional ability: the CA generates the key itself (Vault's `issue`). */
export interface KeyIssuingAuthority extends CertificateAuthority {
  issue(
    request: Omit<SignRequest, 'csrPem'> & { readonly commonName: string; readonly dnsNames?: readonly string[] },
    options?: CaCallOptions,
  ): Promise<SignResult & { readonly privateKeyPem: string }>;
}

export function isKeyIssuingAuthority(ca: CertificateAuthority): ca is KeyIssuingAuthority {
  return typeof (ca as Partial<KeyIssuingAuthority>).issue === 'function';
}

export interface RevokeRequest {
  /** The certificate's serial, lower-case hex as `SignResult.serialNumber` gives it (colons and case tolerated). */
  readonly serialNumber: string;
  readonly reason?: RevocationReason;
  /** Correlates logs and audit records. */
  readonly requestId?: string;
}

/** A signed CRL as published. */
export interface PublishedCrl {
  /** The CRL, PEM (`X509 CRL`), v2 with cRLNumber, authorityKeyIdentifier and nextUpdate. */
  readonly crlPem: string;
  readonly crlNumber: number;
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
}

export interface RevokeResult extends PublishedCrl {
  readonly serialNumber: string;
  readonly revokedAt: Date;
  /** True when the serial was already revoked: the first date and reason stand and nothing is rewritten. */
  readonly alreadyRevoked: boolean;
}

/**
 * Optional ability: the CA revokes certificates and publishes a CRL.
 * Contract:
 * - `revoke` is idempotent per serial and durable before it resolves (the CRL that lists the serial is stored);
 *   concurrent revocations (in this process or others sharing the store) never lose an entry or reuse a CRL number.
 * - `publishCrl` signs a fresh CRL (next number, new thisUpdate/nextUpdate) with the same entries; call it well
 *   before the last CRL's nextUpdate. `currentCrl` resolves the latest stored CRL, or undefined before the first.
 * - Refusals are `CertloopError`s: `CERTLOOP_INVALID_ARGUMENT` (serial, reason), `CERTLOOP_NOT_FOUND` (the signing
 *   secret is gone), `CERTLOOP_CONFLICT` (still contended after several retries), `CERTLOOP_STORE_CORRUPT`.
 */
export interface RevokingAuthority extends CertificateAuthority {
  revoke(request: RevokeRequest, options?: CaCallOptions): Promise<RevokeResult>;
  publishCrl(options?: CaCallOptions): Promise<PublishedCrl>;
  currentCrl(options?: CaCallOptions): Promise<string | undefined>;
}

/** True when `ca` can revoke: it has the methods and does not say `canRevoke: false`. */
export function isRevokingAuthority(ca: CertificateAuthority): ca is RevokingAuthority {
  const candidate = ca as Partial<RevokingAuthority> & { readonly canRevoke?: boolean };
  return typeof candidate.revoke === 'function' && candidate.canRevoke !== false;
}

/** One issued leaf, as an issuance ledger keeps it. */
export interface IssuedLeaf {
  readonly serialNumber: string;
  /** subjectKeyIdentifier of the CA that issued it (the leaf's authorityKeyIdentifier), lower-case hex. */
  readonly issuerKeyId: string;
  /** Who holds it (CN, or the cluster name): a later leaf for the same holder supersedes it. */
  readonly holder: string;
  readonly notAfter: Date;
  readonly issuedAt: Date;
}

/**
 * Issued leaves, so the drain can count those still live under an old CA.
 * Contract: `record` is durable before it resolves and idempotent per serial; safe for concurrent use (within and,
 * for store-backed ledgers, across processes); `live` counts the leaves of `issuerKeyId` that are not expired at `at`
 * and not superseded by a later leaf for the same holder. An empty ledger resolves 0.
 */
export interface IssuanceLedger {
  record(leaf: IssuedLeaf, options?: CaCallOptions): Promise<void>;
  live(query: { readonly issuerKeyId: string; readonly at: Date }, options?: CaCallOptions): Promise<number>;
}
