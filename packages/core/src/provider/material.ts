/**
 * `@certloop/core` TLS material validation: what a CredentialProvider checks before it swaps.
 */
import { CertloopError, isCertloopError } from '../errors.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import type { Secret } from '../secret/types.js';
import { validateChain } from '../x509/chain.js';
import { type InspectedCertificate, inspectCertificate } from '../x509/inspect.js';
import { privateKeyMatchesCertificate } from '../x509/key-match.js';
import { joinPemBundle, splitPemBundle } from '../x509/pem.js';

/** Validated TLS material, ready to hand to `tls.createSecureContext`. */
export interface TlsMaterial {
  /** Leaf then intermediates, PEM. */
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Roots used to verify peers (and that the chain reached), PEM; undefined when none was known. */
  readonly trustBundlePem: string | undefined;
  readonly leaf: InspectedCertificate;
  /** The store version the material came from. */
  readonly version: string;
}

export interface ValidateMaterialOptions {
  /** The time validity is judged at. */
  readonly at: Date;
  /** Extended key usage the leaf must allow. */
  readonly usage?: 'serverAuth' | 'clientAuth';
  /** Roots to validate against instead of the secret's own `ca.crt`. */
  readonly trustBundlePem?: string;
  /** Refuse material whose chain cannot be checked because no trust bundle is known (default false). */
  readonly requireTrustBundle?: boolean;
}

function invalid(message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_CREDENTIAL_INVALID', message, { cause });
}

/**
 * Checks a TLS secret: certificate and key present and parseable, the key matches the leaf, the leaf is inside its
 * validity, and the chain reaches the trust bundle (the option's, else the secret's `ca.crt`).
 * Throws `CERTLOOP_CREDENTIAL_INVALID` with the specific failure as `cause`.
 */
export async function validateTlsSecret(secret: Secret, options: ValidateMaterialOptions): Promise<TlsMaterial> {
  const raw = readTlsMaterial(secret);
  if (!raw.certificatePem) throw invalid(`secret ${secret.name} has no tls.crt`);
  if (!raw.privateKeyPem) throw invalid(`secret ${secret.name} has no tls.key`);
  const trustBundlePem = options.trustBundlePem ?? raw.trustBundlePem;
  try {
    const [leafPem, ...intermediates] = splitPemBundle(raw.certificatePem);
    // the chain check parses the leaf once and hands it back; without a trust bundle only the leaf is read
    let leaf: InspectedCertificate;
    if (trustBundlePem) {
      const { chain } = await validateChain({
        leafPem: leafPem!,
        intermediatesPem: intermediates.length ? joinPemBundle(intermediates) : undefined,
        trustBundlePem,
        at: options.at,
        usage: options.usage,
      });
      leaf = chain[0]!;
    } else if (options.requireTrustBundle) {
      throw invalid(`secret ${secret.name} has no ca.crt and no trust bundle was configured`);
    } else {
      leaf = inspectCertificate(leafPem!);
      if (options.at < leaf.notBefore || options.at >= leaf.notAfter) {
        const code = options.at < leaf.notBefore ? 'CERTLOOP_CHAIN_NOT_YET_VALID' : 'CERTLOOP_CHAIN_EXPIRED';
        throw new CertloopError(code, `certificate of ${secret.name} is outside its validity`);
      }
    }
    if (!privateKeyMatchesCertificate(raw.privateKeyPem, leafPem!)) {
      throw new CertloopError('CERTLOOP_KEY_MISMATCH', `tls.key of ${secret.name} does not match its certificate`);
    }
    return {
      certificatePem: raw.certificatePem,
      privateKeyPem: raw.privateKeyPem,
      trustBundlePem,
      leaf,
      version: secret.version,
    };
  } catch (err) {
    if (isCertloopError(err, 'CERTLOOP_CREDENTIAL_INVALID')) throw err;
    const code = isCertloopError(err) ? err.code : 'unknown';
    throw invalid(`secret ${secret.name} failed validation (${code})`, err);
  }
}
