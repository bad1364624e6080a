/**
 * `@certloop/agent-rotator` signing authority: the CA the server signs with. Either injected (any core
 * `CertificateAuthority`, e.g. Vault's) or a `LocalCertificateAuthority` built from `relay-tls-signing-secret`
 * and rebuilt whenever that secret changes, so a replaced intermediate signs from the next CSR on.
 */
import {
  authorityFromSecret,
  type CertificateAuthority,
  CertloopError,
  type Clock,
  type CryptoEngine,
  type IssuancePolicyInput,
  joinPemBundle,
  readTlsMaterial,
  type Secret,
  splitPemBundle,
} from '@certloop/core';

export interface SigningTrust {
  /** Roots an agent certificate must chain to. */
  readonly trustBundlePem: string;
  /** Intermediates between agent certificates and the roots (the signing CA and its chain). */
  readonly intermediatesPem: string | undefined;
}

export interface AuthorityFromSecretOptions {
  readonly clock: Clock;
  readonly engine?: CryptoEngine | undefined;
  readonly policy?: IssuancePolicyInput | undefined;
}

/** Builds the CA and the trust it implies from the signing secret; throws a typed error when it cannot sign. */
export function signingFromSecret(
  secret: Secret,
  options: AuthorityFromSecretOptions,
): { ca: CertificateAuthority; trust: SigningTrust } {
  const ca = authorityFromSecret(secret, options);
  const material = readTlsMaterial(secret);
  const certs = splitPemBundle(material.certificatePem ?? '');
  const trustBundlePem = material.trustBundlePem ?? certs[certs.length - 1];
  if (!trustBundlePem) throw new CertloopError('CERTLOOP_CREDENTIAL_INVALID', 'the signing secret has no certificate');
  return { ca, trust: { trustBundlePem, intermediatesPem: certs.length ? joinPemBundle(certs) : undefined } };
}
