/**
 * `@certloop/core` trust-bundle digest: the one name for "which roots does this consumer trust", reported by agents,
 * replicas and providers during a CA rotation and compared by the rotation's convergence check.
 */
import { createHash } from 'node:crypto';
import { splitCertificates } from '../x509/pem.js';

/**
 * The digest of a PEM trust bundle: SHA-256 (lower-case hex) over the sorted, de-duplicated SHA-256 digests of each
 * certificate's DER. Order, duplicates, comments and line endings do not change it; the set of roots does. An empty
 * bundle has the digest of no certificates. Malformed PEM is refused as `splitCertificates` refuses it.
 */
export function trustBundleDigest(bundlePem: string): string {
  const digests = [
    ...new Set(splitCertificates(bundlePem).map((der) => createHash('sha256').update(der).digest('hex'))),
  ];
  digests.sort();
  const outer = createHash('sha256');
  for (const digest of digests) outer.update(digest, 'hex');
  return outer.digest('hex');
}
