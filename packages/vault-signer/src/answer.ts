/**
 * `@certloop/vault-signer` internal: Vault's sign or issue answer, never trusted blindly. The certificate's key must be
 * the requested one, its names exactly those asked for, its chain must validate to the trust bundle for the profile's
 * usage, and Vault's serial and expiration must be the certificate's. Anything else is `CERTLOOP_CA_RESPONSE_INVALID`.
 */
import { type KeyObject, verify, X509Certificate } from 'node:crypto';
import {
  type CertificateProfile,
  CertloopError,
  type CertloopErrorCode,
  type InspectedCertificate,
  inspectCertificate,
  isCertloopError,
  joinPemBundle,
  pemDecode,
  type SignResult,
  splitPemBundle,
  usageOf,
  validateChain,
} from '@certloop/core';
import { type CertificateParts, certificateParts, digestOf } from './der-lite.js';

export interface ExpectedCertificate {
  /** The requested key, SPKI DER. */
  readonly publicKeySpki: Buffer;
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

/**
 * Issuer chains already validated against the trust bundle, keyed by their certificates and the bundle. A leaf under a
 * known chain is then checked against its issuing CA alone: issuer name, one signature with the CA's key (imported
 * once), validity, CA:false, key usage and EKU for the profile. Valid until the chain's earliest notAfter. Bounded.
 */
export class ValidatedChains {
  readonly #entries = new Map<string, KnownIssuer>();

  get(key: string, at: Date): KnownIssuer | undefined {
    const entry = this.#entries.get(key);
    return entry && at.getTime() >= entry.notBefore && at.getTime() < entry.notAfter ? entry : undefined;
  }

  add(key: string, chain: readonly InspectedCertificate[]): void {
    if (this.#entries.size >= 32) this.#entries.clear();
    const cas = chain.slice(1);
    this.#entries.set(key, {
      notBefore: Math.max(...cas.map((c) => c.notBefore.getTime())),
      notAfter: Math.min(...cas.map((c) => c.notAfter.getTime())),
      subjectText: cas[0]!.subjectText,
      key: new X509Certificate(cas[0]!.certificatePem).publicKey,
    });
  }
}

interface KnownIssuer {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly subjectText: string;
  readonly key: KeyObject;
}

function chainError(code: CertloopErrorCode, message: string): never {
  throw new CertloopError(code, message);
}

/** The leaf checks of core's validateChain, for a leaf whose issuer chain is already validated. */
function checkLeafUnder(
  issuer: KnownIssuer,
  leaf: InspectedCertificate,
  parts: CertificateParts,
  digest: string | null,
  at: Date,
  usage: 'serverAuth' | 'clientAuth' | undefined,
): void {
  if (leaf.issuerText !== issuer.subjectText) chainError('CERTLOOP_CHAIN_UNTRUSTED', 'the leaf names another issuer');
  if (!verify(digest, parts.tbs, issuer.key, parts.signature)) {
    chainError('CERTLOOP_CHAIN_SIGNATURE_INVALID', "the leaf's signature does not verify with its issuer's key");
  }
  if (at.getTime() < leaf.notBefore.getTime()) chainError('CERTLOOP_CHAIN_NOT_YET_VALID', 'the leaf is not yet valid');
  if (at.getTime() > leaf.notAfter.getTime()) chainError('CERTLOOP_CHAIN_EXPIRED', 'the leaf has expired');
  if (leaf.isCA) chainError('CERTLOOP_POLICY_PROFILE_REJECTED', 'the leaf is a CA certificate');
  if (usage) {
    if (leaf.extKeyUsage.length > 0 && !leaf.extKeyUsage.includes(usage)) {
      chainError('CERTLOOP_CHAIN_EXT_KEY_USAGE', `the leaf does not allow ${usage}`);
    }
    if (leaf.keyUsage.length > 0 && !leaf.keyUsage.includes('digitalSignature')) {
      chainError('CERTLOOP_CHAIN_KEY_USAGE', 'the leaf does not allow digitalSignature');
    }
  }
}

function invalid(message: string, details?: Record<string, unknown>, cause?: unknown): never {
  throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', message, {
    ...(details ? { details } : {}),
    ...(cause ? { cause } : {}),
  });
}

const splitByText = new Map<string, string[]>();

/** The certificates of one `ca_chain` entry (an entry may hold several), trimmed; remembered by text, bounded. */
function splitTrimmed(text: string): string[] {
  let known = splitByText.get(text);
  if (known === undefined) {
    known = splitPemBundle(text).map((pem) => pem.trim());
    if (splitByText.size >= 64) splitByText.clear();
    splitByText.set(text, known);
  }
  return known;
}

const selfSignedByPem = new Map<string, boolean>();

/** Whether a CA certificate is self-signed, remembered (the same few issuer certificates come back every time). */
function selfSigned(pem: string): boolean {
  let known = selfSignedByPem.get(pem);
  if (known === undefined) {
    known = inspectCertificate(pem).selfSigned;
    if (selfSignedByPem.size >= 64) selfSignedByPem.clear();
    selfSignedByPem.set(pem, known);
  }
  return known;
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
    caChain = rawChain.flatMap((pem) => splitTrimmed(String(pem)));
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
  readonly validated?: ValidatedChains;
  /** Identifies `caChain` plus the trust bundle (e.g. their fingerprints), for {@link ValidatedChains}. */
  readonly chainKey?: string;
}): Promise<SignResult> {
  const { answer, expected } = input;
  const usage = usageOf(expected.profile);
  const isRoot = (pem: string) => selfSigned(pem);
  const chain = input.includeRoot ? answer.caChain : answer.caChain.filter((pem) => !isRoot(pem));
  const chainPem = chain.length > 0 ? joinPemBundle(chain) : '';
  const key = input.chainKey === undefined ? undefined : `${input.chainKey}|${usage ?? ''}`;
  let leaf: InspectedCertificate;
  let parts: CertificateParts;
  try {
    // one PEM decode for both readings of the certificate
    const der = pemDecode(answer.certificatePem, ['CERTIFICATE']).der;
    leaf = inspectCertificate(der);
    parts = certificateParts(der);
  } catch (err) {
    invalid('vault returned an unreadable certificate', undefined, err);
  }
  try {
    const known = key === undefined ? undefined : input.validated?.get(key, input.at);
    const digest = digestOf(parts.signatureOid);
    if (known && digest !== undefined) {
      checkLeafUnder(known, leaf, parts, digest, input.at, usage);
    } else {
      const { chain: path } = await validateChain({
        leafPem: answer.certificatePem,
        intermediatesPem: chainPem || undefined,
        trustBundlePem: input.trustBundlePem,
        at: input.at,
        usage,
      });
      if (key !== undefined && path.length > 1) input.validated?.add(key, path);
    }
  } catch (err) {
    const code = isCertloopError(err) ? err.code : 'unknown';
    invalid(`the certificate vault returned does not validate (${code})`, { chainError: code }, err);
  }
  if (!Buffer.from(parts.spki).equals(expected.publicKeySpki)) {
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
  return {
    certificatePem: `${answer.certificatePem}\n`,
    chainPem,
    trustBundlePem: input.trustBundlePem,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    serialNumber: leaf.serialNumber,
  };
}
