/**
 * `@certloop/core` x509 public types shared by the engine's functions.
 */

/** Key algorithms certloop generates and accepts. */
export type KeyAlgorithm = 'ECDSA-P256' | 'ECDSA-P384' | 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'Ed25519';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  'ECDSA-P256',
  'ECDSA-P384',
  'RSA-2048',
  'RSA-3072',
  'RSA-4096',
  'Ed25519',
];

/** A public key's family and size, as read from a certificate, CSR or key. */
export interface PublicKeyInfo {
  /** `RSA`, `ECDSA` or `Ed25519`. */
  readonly type: 'RSA' | 'ECDSA' | 'Ed25519';
  /** RSA modulus bits, EC curve bits (256, 384), 256 for Ed25519. */
  readonly size: number;
  /** `P-256` / `P-384` for ECDSA. */
  readonly curve?: string;
  /** The matching {@link KeyAlgorithm} when it is one certloop generates (RSA sizes outside the list have none). */
  readonly algorithm?: KeyAlgorithm;
}

export interface KeyPair {
  readonly algorithm: KeyAlgorithm;
  /** PKCS#8 PEM (`PRIVATE KEY`). */
  readonly privateKeyPem: string;
  /** SPKI PEM (`PUBLIC KEY`). */
  readonly publicKeyPem: string;
}

/** A distinguished name, as the fields certloop writes and reads. */
export interface DistinguishedName {
  readonly commonName?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly country?: string;
  readonly state?: string;
  readonly locality?: string;
}

/** Subject alternative names by kind. */
export interface SubjectAltNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
  readonly emails: readonly string[];
}

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/** Bit positions of KeyUsage (RFC 5280 4.2.1.3), in order. */
export const KEY_USAGE_BITS: readonly KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** Extended key usages by name where known, else dotted OID. */
export type ExtKeyUsageName = 'serverAuth' | 'clientAuth' | (string & {});
