/**
 * `@certloop/core` inspectCertificate: what a certificate says, as a plain object.
 *
 * Lean on purpose: it runs on every secret update and in the expiry monitor. One DER pass, the extensions
 * decoded once, one SHA-256, no signature verification and no key import.
 */
import { createHash } from 'node:crypto';
import { isCertloopError } from '../errors.js';
import { bytesEqual, type ParsedCertificate, parseCertificate } from './certificate.js';
import { type DecodedExtensions, decodeExtensions } from './extensions.js';
import { decodeName } from './name.js';
import { pemEncode, splitCertificates } from './pem.js';
import { decodeSignatureAlgorithm } from './signature.js';
import { describePublicKey } from './spki.js';
import type { DistinguishedName, ExtKeyUsageName, KeyUsageName, PublicKeyInfo, SubjectAltNames } from './types.js';

export interface InspectedCertificate {
  readonly subject: DistinguishedName;
  /** RFC 4514, most specific first: `CN=agent-1, O=certloop`. */
  readonly subjectText: string;
  readonly issuer: DistinguishedName;
  readonly issuerText: string;
  /** Lower-case hex of the serial's magnitude (no sign byte), no separators. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject alternative names; empty lists when the extension is absent. */
  readonly sans: SubjectAltNames;
  /** basicConstraints CA:TRUE. */
  readonly isCA: boolean;
  /** pathLenConstraint, for a CA that sets one. */
  readonly pathLength?: number;
  /** Empty when the keyUsage extension is absent. */
  readonly keyUsage: readonly KeyUsageName[];
  /** Empty when the extKeyUsage extension is absent. */
  readonly extKeyUsage: readonly ExtKeyUsageName[];
  /** Lower-case hex. */
  readonly subjectKeyId?: string;
  /** The authorityKeyIdentifier's keyIdentifier, lower-case hex. */
  readonly authorityKeyId?: string;
  readonly publicKey: PublicKeyInfo;
  /** OpenSSL-style name (`ecdsa-with-SHA256`, `sha256WithRSAEncryption`, `ED25519`), or the dotted OID. */
  readonly signatureAlgorithm: string;
  /** SHA-256 of the DER, lower-case hex without separators. */
  readonly fingerprintSha256: string;
  /**
   * Self-issued with the same key: issuer and subject names are byte-equal and, when both key identifiers are
   * present, the authority key id equals the subject key id. The signature itself is not verified here
   * (`validateChain` verifies every signature it relies on).
   */
  readonly selfSigned: boolean;
  /** The certificate re-encoded as one PEM block. */
  readonly certificatePem: string;
}

const EMPTY_SANS: SubjectAltNames = Object.freeze({ dnsNames: [], ipAddresses: [], uris: [], emails: [] });

function signatureAlgorithmName(parsed: ParsedCertificate): string {
  try {
    return decodeSignatureAlgorithm(parsed.signatureAlgorithmDer).name;
  } catch (err) {
    // Inspection describes what is there; an algorithm certloop cannot verify is shown by its OID. Parameters a
    // known algorithm forbids (ECDSA or Ed25519 with parameters, RSA with other than NULL) are malformed, though.
    if (isCertloopError(err, 'CERTLOOP_UNSUPPORTED_ALGORITHM')) return parsed.signatureAlgorithmOid;
    throw err;
  }
}

/** Builds the plain object from an already parsed certificate and its decoded extensions (no re-parsing). */
export function describeCertificate(parsed: ParsedCertificate, ext: DecodedExtensions): InspectedCertificate {
  const subject = decodeName(parsed.subjectNode);
  const issuer = decodeName(parsed.issuerNode);
  const ca = ext.basicConstraints?.ca === true;
  const sameKey =
    ext.subjectKeyId === undefined || ext.authorityKeyId === undefined || ext.subjectKeyId === ext.authorityKeyId;
  return {
    subject: subject.dn,
    subjectText: subject.text,
    issuer: issuer.dn,
    issuerText: issuer.text,
    serialNumber: parsed.serialNumber,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    sans: ext.subjectAltNames ?? EMPTY_SANS,
    isCA: ca,
    ...(ca && ext.basicConstraints?.pathLength !== undefined ? { pathLength: ext.basicConstraints.pathLength } : {}),
    keyUsage: ext.keyUsage ?? [],
    extKeyUsage: ext.extKeyUsage ?? [],
    ...(ext.subjectKeyId !== undefined ? { subjectKeyId: ext.subjectKeyId } : {}),
    ...(ext.authorityKeyId !== undefined ? { authorityKeyId: ext.authorityKeyId } : {}),
    publicKey: describePublicKey(parsed.spkiDer),
    signatureAlgorithm: signatureAlgorithmName(parsed),
    fingerprintSha256: createHash('sha256').update(parsed.der).digest('hex'),
    selfSigned: sameKey && bytesEqual(parsed.issuerDer, parsed.subjectDer),
    certificatePem: pemEncode('CERTIFICATE', parsed.der),
  };
}

/**
 * Inspects one certificate, given as PEM or DER. PEM may be a bundle whose first block is the certificate (as in
 * `tls.crt`: leaf, then intermediates); every block must be a CERTIFICATE. Throws `CERTLOOP_INVALID_PEM`,
 * `CERTLOOP_INVALID_DER`, `CERTLOOP_INPUT_TOO_LARGE`, or `CERTLOOP_UNSUPPORTED_ALGORITHM` for a public key
 * certloop cannot describe.
 */
export function inspectCertificate(certificate: string | Uint8Array): InspectedCertificate {
  const der = typeof certificate === 'string' ? splitCertificates(certificate)[0]! : certificate;
  const parsed = parseCertificate(der);
  return describeCertificate(parsed, decodeExtensions(parsed.extensions));
}

/** Inspects every certificate of a PEM bundle, in order (bounded by `PEM_LIMITS`). */
export function inspectCertificates(bundlePem: string): InspectedCertificate[] {
  return splitCertificates(bundlePem).map((der) => {
    const parsed = parseCertificate(der);
    return describeCertificate(parsed, decodeExtensions(parsed.extensions));
  });
}
