/**
 * `@certloop/vault-signer` internal: Vault's sign or issue answer, never trusted blindly. The certificate's key must be
 * the requested one, its names exactly those asked for, its chain must validate to the trust bundle for the profile's
 * usage, and Vault's serial and expiration must be the certificate's. Anything else is `CERTLOOP_CA_RESPONSE_INVALID`.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import {
  type CertificateProfile,
  CertloopError,
  type InspectedCertificate,
  inspectCertificate,
  isCertloopError,
  joinPemBundle,
  type SignResult,
  splitPemBundle,
  usageOf,
  validateChain,
} from '@certloop/core';

export interface ExpectedCertificate {
  /** The requested key, SPKI PEM. */
  readonly publicKeyPem: string;
  readonly commonName: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
  readonly profile: CertificateProfile;
}

export interface ParsedAnswer {
  readonly certificatePem: string;
  /** Vault's `ca_chain` (else `issuing_ca`), issuer first, trimmed. */
  readonly caChain: readonly string[];
  readonly serialNumber: string | undefined;
  readonly expiration: number | undefined;
  readonly privateKeyPem: string | undefined;
}

function invalid(message: string, details?: Record<string, unknown>, cause?: unknown): never {
  throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', message, {
    ...(details ? { details } : {}),
    ...(cause ? { cause } : {}),
  });
}

/** Reads the fields certloop uses from Vault's `data`. */
export function parseAnswer(data: Record<string, unknown> | null | undefined): ParsedAnswer {
  if (!data || typeof data.certificate !== 'string' || !data.certificate.includes('BEGIN CERTIFICATE')) {
    invalid('vault returned no PEM certificate');
  }
  const rawChain = Array.isArray(data.ca_chain)
    ? data.ca_chain
    : typeof data.issuing_ca === 'string'
      ? [data.issuing_ca]
      : [];
  let caChain: string[];
  try {
    caChain = rawChain.flatMap((pem) => splitPemBundle(String(pem))).map((pem) => pem.trim());
  } catch (err) {
    invalid('vault returned an unreadable CA chain', undefined, err);
  }
  const expiration = typeof data.expiration === 'string' ? Number(data.expiration) : data.expiration;
  return {
    certificatePem: data.certificate.trim(),
    caChain,
    serialNumber: typeof data.serial_number === 'string' ? data.serial_number : undefined,
    expiration: typeof expiration === 'number' && Number.isFinite(expiration) ? expiration : undefined,
    privateKeyPem: typeof data.private_key === 'string' ? data.private_key.trim() : undefined,
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const left = new Set(a.map((s) => s.toLowerCase()));
  const right = new Set(b.map((s) => s.toLowerCase()));
  return left.size === right.size && [...left].every((s) => right.has(s));
};

/** Checks the answer against what was asked, at `at`; gives core's SignResult. */
export async function verifyAnswer(input: {
  readonly answer: ParsedAnswer;
  readonly expected: ExpectedCertificate;
  readonly trustBundlePem: string;
  readonly includeRoot: boolean;
  readonly at: Date;
}): Promise<SignResult> {
  const { answer, expected } = input;
  let leaf: InspectedCertificate;
  try {
    leaf = inspectCertificate(answer.certificatePem);
  } catch (err) {
    invalid('vault returned an unreadable certificate', undefined, err);
  }
  const certificateKey = new X509Certificate(answer.certificatePem).publicKey;
  if (!certificateKey.equals(createPublicKey(expected.publicKeyPem))) {
    invalid('the certificate vault returned is not for the requested key');
  }
  if (
    (leaf.subject.commonName || undefined) !== (expected.commonName || undefined) ||
    !sameSet(leaf.sans.dnsNames, expected.dnsNames) ||
    !sameSet(leaf.sans.ipAddresses, expected.ipAddresses) ||
    !sameSet(leaf.sans.uris, expected.uris)
  ) {
    invalid('the certificate vault returned names another identity than requested', {
      commonName: leaf.subject.commonName,
      dnsNames: leaf.sans.dnsNames,
    });
  }
  if (
    answer.serialNumber !== undefined &&
    answer.serialNumber.replace(/:/g, '').toLowerCase().replace(/^0+/, '') !== leaf.serialNumber.replace(/^0+/, '')
  ) {
    invalid("vault's serial_number is not the certificate's");
  }
  if (answer.expiration !== undefined && answer.expiration !== Math.floor(leaf.notAfter.getTime() / 1000)) {
    invalid("vault's expiration is not the certificate's notAfter");
  }
  const isRoot = (pem: string) => inspectCertificate(pem).selfSigned;
  const chain = input.includeRoot ? answer.caChain : answer.caChain.filter((pem) => !isRoot(pem));
  const chainPem = chain.length > 0 ? joinPemBundle(chain) : '';
  try {
    await validateChain({
      leafPem: answer.certificatePem,
      intermediatesPem: chainPem || undefined,
      trustBundlePem: input.trustBundlePem,
      at: input.at,
      usage: usageOf(expected.profile),
    });
  } catch (err) {
    const code = isCertloopError(err) ? err.code : 'unknown';
    invalid(`the certificate vault returned does not validate (${code})`, { chainError: code }, err);
  }
  return {
    certificatePem: `${answer.certificatePem}\n`,
    chainPem,
    trustBundlePem: input.trustBundlePem,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    serialNumber: leaf.serialNumber,
  };
}
