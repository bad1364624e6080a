/**
 * `@certloop/core` rotation: one renewal request. A fresh key and CSR are made here (the private key never leaves
 * this process), the CA is asked, and its answer is checked before anyone may store it.
 */
import type { CertificateAuthority, CertificateProfile, Identity } from '../ca/types.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import { createCsr } from '../x509/csr.js';
import type { InspectedCertificate } from '../x509/inspect.js';
import { generateKeyPair } from '../x509/keys.js';
import type { DistinguishedName, KeyAlgorithm } from '../x509/types.js';
import { checkIssuedCertificate, type ExpectedIdentity } from './issued-check.js';

export interface CertificateRequest {
  readonly ca: CertificateAuthority;
  readonly subject: DistinguishedName & { readonly commonName: string };
  readonly expected: ExpectedIdentity;
  /** What the CA binds the CSR to (default: `expected`). */
  readonly identity?: Identity;
  readonly profile: CertificateProfile;
  readonly lifetimeSeconds: number;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly engine?: CryptoEngine;
  /** The time the answer must be valid at. */
  readonly now: () => Date;
  readonly signal: AbortSignal;
}

export interface IssuedCredential {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly trustBundlePem: string;
  readonly leaf: InspectedCertificate;
}

/** Makes a key and CSR, has the CA sign it, and checks the answer (`CERTLOOP_CA_RESPONSE_INVALID` if bad). */
export async function requestCertificate(request: CertificateRequest): Promise<IssuedCredential> {
  const { expected, engine, signal } = request;
  const keyPair = await generateKeyPair({ algorithm: request.keyAlgorithm, engine });
  const { csrPem } = await createCsr({
    privateKeyPem: keyPair.privateKeyPem,
    subject: request.subject,
    dnsNames: [...expected.dnsNames],
    ipAddresses: [...expected.ipAddresses],
    uris: [...expected.uris],
    engine,
  });
  const result = await request.ca.sign(
    {
      csrPem,
      lifetimeSeconds: request.lifetimeSeconds,
      profile: request.profile,
      identity: request.identity ?? expected,
    },
    { signal },
  );
  const leaf = await checkIssuedCertificate({
    result,
    privateKeyPem: keyPair.privateKeyPem,
    expected,
    profile: request.profile,
    at: request.now(),
  });
  return {
    privateKeyPem: keyPair.privateKeyPem,
    certificatePem: result.certificatePem,
    chainPem: result.chainPem,
    trustBundlePem: result.trustBundlePem,
    leaf,
  };
}
