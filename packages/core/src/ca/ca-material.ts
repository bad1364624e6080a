/**
 * Internal (`@certloop/core` ca): a CA's certificate, key and chain, read and checked once at construction.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CertloopError } from '../errors.js';
import { bytesEqual, type ParsedCertificate, parseCertificate } from '../x509/certificate.js';
import type { ExternalPrivateKey } from '../x509/crypto-engine.js';
import { decodeExtensions } from '../x509/extensions.js';
import { keyIdentifier } from '../x509/extensions-writer.js';
import { samePublicKey, signingKey } from '../x509/keys.js';
import { optionalString } from '../x509/options.js';
import { pemEncode, splitCertificates } from '../x509/pem.js';
import type { PublicKeyInfo } from '../x509/types.js';

export interface CaMaterial {
  readonly certificate: ParsedCertificate;
  readonly certificatePem: string;
  /** The CA key: its description, and either its PKCS#8 DER or the external key that signs for it. */
  readonly key: {
    readonly info: PublicKeyInfo;
    readonly pkcs8Der?: Uint8Array | undefined;
    readonly externalKey?: ExternalPrivateKey | undefined;
  };
  /** The CA's subject key identifier (from its SKI extension, else computed). */
  readonly keyIdentifier: Uint8Array;
  /** The CA's pathLenConstraint, when it has one. */
  readonly pathLength?: number | undefined;
  /** What a TLS peer sends after a leaf this CA issued: the CA and its chain, issuer first, roots left out. */
  readonly chainPem: string;
  readonly trustBundlePem: string;
}

export interface CaMaterialInput {
  readonly certificatePem: string;
  /** PEM, or the key where it is held (e.g. on a PKCS#11 token). */
  readonly privateKeyPem: string | ExternalPrivateKey;
  readonly chainPem?: string | undefined;
  readonly trustBundlePem: string;
}

const isSelfIssued = (cert: ParsedCertificate) => bytesEqual(cert.issuerDer, cert.subjectDer);

/**
 * Reads the CA material. `certificatePem` may carry the CA's own chain after it (as a `tls.crt` does).
 * Throws `CERTLOOP_CA_NOT_A_CA` unless the certificate has basicConstraints CA:TRUE and keyUsage keyCertSign,
 * and `CERTLOOP_KEY_MISMATCH` unless the key is the certificate's.
 */
export function loadCaMaterial(input: CaMaterialInput): CaMaterial {
  if (typeof input !== 'object' || input === null) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'LocalCertificateAuthority needs an options object');
  }
  for (const key of ['chainPem', 'trustBundlePem'] as const) optionalString(input[key], key);
  const [caDer, ...rest] = splitCertificates(input.certificatePem);
  const certificate = parseCertificate(caDer!);
  const extensions = decodeExtensions(certificate.extensions);
  if (!extensions.basicConstraints?.ca) {
    throw new CertloopError('CERTLOOP_CA_NOT_A_CA', 'the CA certificate lacks basicConstraints CA:TRUE');
  }
  if (!extensions.keyUsage?.includes('keyCertSign')) {
    throw new CertloopError('CERTLOOP_CA_NOT_A_CA', 'the CA certificate lacks keyUsage keyCertSign');
  }
  const key = signingKey(input.privateKeyPem);
  let certificateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    certificateKey = createPublicKey({ key: Buffer.from(certificate.spkiDer), format: 'der', type: 'spki' });
  } catch (err) {
    throw new CertloopError('CERTLOOP_INVALID_KEY', 'the CA certificate holds a public key that cannot be loaded', {
      cause: err,
    });
  }
  try {
    publicKey = createPublicKey({ key: Buffer.from(key.spkiDer), format: 'der', type: 'spki' });
  } catch (err) {
    throw new CertloopError('CERTLOOP_INVALID_KEY', 'the CA key has a public half that cannot be loaded', {
      cause: err,
    });
  }
  if (!samePublicKey(publicKey, certificateKey)) {
    throw new CertloopError('CERTLOOP_KEY_MISMATCH', 'the private key does not belong to the CA certificate');
  }
  const trustDers = splitCertificates(input.trustBundlePem);
  const chainDers = [...rest, ...(input.chainPem?.trim() ? splitCertificates(input.chainPem) : [])];
  // Roots (self-issued) and anything the peer already trusts are not sent.
  const chain = [caDer!, ...chainDers].filter((der) => {
    const cert = parseCertificate(der);
    return !isSelfIssued(cert) && !trustDers.some((t) => bytesEqual(t, der));
  });
  return {
    certificate,
    certificatePem: pemEncode('CERTIFICATE', caDer!),
    key: { info: key.info, ...key.issuerKey },
    keyIdentifier: extensions.subjectKeyId
      ? new Uint8Array(Buffer.from(extensions.subjectKeyId, 'hex'))
      : keyIdentifier(certificate.spkiDer),
    pathLength: extensions.basicConstraints.pathLength,
    chainPem: chain.map((der) => pemEncode('CERTIFICATE', der)).join(''),
    trustBundlePem: trustDers.map((der) => pemEncode('CERTIFICATE', der)).join(''),
  };
}
