/**
 * `@certloop/core` rotation: checks a CA's answer before it may be stored.
 */
import type { CertificateProfile, SignResult } from '../ca/types.js';
import { CertloopError, isCertloopError } from '../errors.js';
import { validateChain } from '../x509/chain.js';
import type { InspectedCertificate } from '../x509/inspect.js';
import { privateKeyMatchesCertificate } from '../x509/key-match.js';

export interface ExpectedIdentity {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map((s) => s.toLowerCase()));
  const right = new Set(b.map((s) => s.toLowerCase()));
  return left.size === right.size && [...left].every((s) => right.has(s));
}

function reject(message: string, cause?: unknown): never {
  throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', message, { cause });
}

/** The EKU a profile's leaf must carry. */
export function usageOf(profile: CertificateProfile): 'serverAuth' | 'clientAuth' | undefined {
  if (profile === 'server' || profile === 'server+client') return 'serverAuth';
  if (profile === 'client') return 'clientAuth';
  return undefined;
}

/**
 * Checks an issued certificate: it matches our private key, names exactly the identity we asked for, is valid
 * now, and its chain reaches the CA's trust bundle for the profile's usage. Throws `CERTLOOP_CA_RESPONSE_INVALID`.
 */
export async function checkIssuedCertificate(input: {
  readonly result: SignResult;
  readonly privateKeyPem: string;
  readonly expected: ExpectedIdentity;
  readonly profile: CertificateProfile;
  readonly at: Date;
}): Promise<InspectedCertificate> {
  const { result, expected, at } = input;
  // the chain check parses the leaf once and hands it back
  let leaf: InspectedCertificate;
  try {
    const { chain } = await validateChain({
      leafPem: result.certificatePem,
      intermediatesPem: result.chainPem || undefined,
      trustBundlePem: result.trustBundlePem,
      at,
      usage: usageOf(input.profile),
    });
    leaf = chain[0]!;
  } catch (err) {
    const code = isCertloopError(err) ? err.code : 'unknown';
    reject(`the issued certificate does not validate (${code})`, err);
  }
  if (!privateKeyMatchesCertificate(input.privateKeyPem, result.certificatePem)) {
    reject('the issued certificate does not match the private key of the request');
  }
  const sans = leaf.sans;
  if (
    (leaf.subject.commonName ?? '') !== expected.commonName ||
    !sameSet(sans.dnsNames, expected.dnsNames) ||
    !sameSet(sans.ipAddresses, expected.ipAddresses) ||
    !sameSet(sans.uris, expected.uris)
  ) {
    reject('the issued certificate names another identity than requested');
  }
  return leaf;
}
