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
  type ExternalPrivateKey,
  type IssuanceLedger,
  type IssuancePolicyInput,
  joinPemBundle,
  parseCertificate,
  pemDecode,
  REVOCATION_KEYS,
  readTlsMaterial,
  type Secret,
  type SecretStore,
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
  /**
   * With the store, the CA can revoke and republish the CRL of a managed signing secret (core's
   * `RevokingAuthority`); without it, it only signs.
   */
  readonly store?: SecretStore | undefined;
  /** The signing CA's key where it is held (a PKCS#11 token); the secret then needs no `tls.key`. */
  readonly signingKey?: ExternalPrivateKey | undefined;
  /** Where every leaf the CA signs is recorded, so a CA rotation's drain can count those still under the old CA. */
  readonly ledger?: IssuanceLedger | undefined;
}

/**
 * Finds the signing CA's key where it is held, given the public key of the certificate in the signing secret, so a
 * signing secret replaced by one with a new key (a CA rotation that made the new key on a token) signs with that
 * key from the next CSR on. Resolves `undefined` when it holds no such key.
 */
export type SigningKeyResolver = (certificate: {
  readonly spkiDer: Uint8Array;
}) => Promise<ExternalPrivateKey | undefined>;

/** The key for the signing secret's certificate: `signingKey` itself, or what the resolver finds for it. */
export async function resolveSigningKey(
  secret: Secret,
  signingKey: ExternalPrivateKey | SigningKeyResolver | undefined,
): Promise<ExternalPrivateKey | undefined> {
  if (typeof signingKey !== 'function') return signingKey;
  const [first] = splitPemBundle(readTlsMaterial(secret).certificatePem ?? '');
  if (!first) throw new CertloopError('CERTLOOP_CREDENTIAL_INVALID', 'the signing secret has no certificate');
  const { spkiDer } = parseCertificate(pemDecode(first, ['CERTIFICATE']).der);
  const key = await signingKey({ spkiDer });
  if (!key) {
    throw new CertloopError(
      'CERTLOOP_KEY_MISMATCH',
      "no key where the signing CA's keys are held matches its certificate",
      {
        details: { secret: secret.name },
      },
    );
  }
  return key;
}

/** The CRL kept in the signing secret (`ca.crl`, PEM), or undefined when there is none (no revocation yet). */
export function crlOfSecret(secret: Secret): string | undefined {
  const raw = secret.data[REVOCATION_KEYS.crl];
  if (!raw || raw.length === 0) return undefined;
  return new TextDecoder().decode(raw);
}

/** Builds the CA and the trust it implies from the signing secret; throws a typed error when it cannot sign. */
export function signingFromSecret(
  secret: Secret,
  options: AuthorityFromSecretOptions,
): { ca: CertificateAuthority; trust: SigningTrust } {
  const ca = authorityFromSecret(secret, {
    clock: options.clock,
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.store ? { store: options.store } : {}),
    ...(options.signingKey ? { privateKey: options.signingKey } : {}),
    ...(options.ledger ? { ledger: options.ledger } : {}),
  });
  const material = readTlsMaterial(secret);
  const certs = splitPemBundle(material.certificatePem ?? '');
  const trustBundlePem = material.trustBundlePem ?? certs[certs.length - 1];
  if (!trustBundlePem) throw new CertloopError('CERTLOOP_CREDENTIAL_INVALID', 'the signing secret has no certificate');
  return { ca, trust: { trustBundlePem, intermediatesPem: certs.length ? joinPemBundle(certs) : undefined } };
}
