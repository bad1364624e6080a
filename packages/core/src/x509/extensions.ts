/**
 * Internal (`@certloop/core` x509): decoders for the certificate extensions certloop reads (RFC 5280 4.2).
 *
 * Each decoder takes the extnValue content and checks it is exactly one well-formed element
 * (`CERTLOOP_INVALID_DER` otherwise). {@link UNDERSTOOD_EXTENSIONS} is the set certloop processes when it
 * validates a chain: any other extension marked critical makes the certificate unusable (RFC 5280 4.2).
 */
import { CertloopError } from '../errors.js';
import type { CertificateExtension } from './certificate.js';
import {
  children,
  content,
  expectTag,
  parseDer,
  readBitString,
  readBoolean,
  readOid,
  readSmallInteger,
  refuseDefault,
  Tag,
} from './der.js';
import { decodeGeneralNames } from './general-names.js';
import { OID } from './oids.js';
import { toHex } from './serial.js';
import type { ExtKeyUsageName, KeyUsageName, SubjectAltNames } from './types.js';
import { KEY_USAGE_BITS } from './types.js';

export interface BasicConstraints {
  readonly ca: boolean;
  /** pathLenConstraint, only meaningful (and only kept) when `ca` is true. */
  readonly pathLength?: number;
}

/** What certloop reads from a certificate's extensions; absent extensions are `undefined`. */
export interface DecodedExtensions {
  readonly basicConstraints?: BasicConstraints;
  readonly keyUsage?: readonly KeyUsageName[];
  readonly extKeyUsage?: readonly ExtKeyUsageName[];
  /** Lower-case hex. */
  readonly subjectKeyId?: string;
  /** The keyIdentifier field of authorityKeyIdentifier, lower-case hex. */
  readonly authorityKeyId?: string;
  readonly subjectAltNames?: SubjectAltNames;
  /** OIDs of critical extensions outside {@link UNDERSTOOD_EXTENSIONS}. */
  readonly unknownCritical: readonly string[];
}

/** Extensions certloop enforces when it validates a chain. Policies are not among them. */
export const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set([
  OID.basicConstraints,
  OID.nameConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
]);

const EKU_NAMES: Readonly<Record<string, ExtKeyUsageName>> = {
  [OID.serverAuth]: 'serverAuth',
  [OID.clientAuth]: 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  [OID.anyExtendedKeyUsage]: 'anyExtendedKeyUsage',
};

export function decodeBasicConstraints(value: Uint8Array): BasicConstraints {
  const fields = children(expectTag(parseDer(value), Tag.SEQUENCE, 'BasicConstraints'));
  let i = 0;
  let ca = false;
  if (fields[i]?.tag === Tag.BOOLEAN) {
    ca = readBoolean(fields[i++]!);
    if (!ca) refuseDefault('basicConstraints cA');
  }
  let pathLength: number | undefined;
  if (fields[i]?.tag === Tag.INTEGER) pathLength = readSmallInteger(fields[i++]!);
  if (i !== fields.length) invalid('BasicConstraints has extra fields');
  return ca && pathLength !== undefined ? { ca, pathLength } : { ca };
}

/** KeyUsage bits, in RFC 5280 order, as names. */
export function decodeKeyUsage(value: Uint8Array): KeyUsageName[] {
  const { bytes, unusedBits } = readBitString(parseDer(value));
  const usable = bytes.length * 8 - unusedBits;
  const out: KeyUsageName[] = [];
  for (let bit = 0; bit < KEY_USAGE_BITS.length && bit < usable; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) out.push(KEY_USAGE_BITS[bit]!);
  }
  return out;
}

/** Extended key usages: names for the known ones, dotted OIDs otherwise. */
export function decodeExtKeyUsage(value: Uint8Array): ExtKeyUsageName[] {
  const list = children(expectTag(parseDer(value), Tag.SEQUENCE, 'ExtKeyUsageSyntax'));
  if (list.length === 0) invalid('empty ExtKeyUsageSyntax');
  return list.map((node) => {
    const oid = readOid(node);
    return EKU_NAMES[oid] ?? oid;
  });
}

export function decodeSubjectKeyIdentifier(value: Uint8Array): string {
  return toHex(content(expectTag(parseDer(value), Tag.OCTET_STRING, 'SubjectKeyIdentifier')));
}

/**
 * The keyIdentifier of an AuthorityKeyIdentifier, when present. The whole value is checked (RFC 5280 4.2.1.1):
 * [0] keyIdentifier, [1] authorityCertIssuer (GeneralNames), [2] authorityCertSerialNumber, each at most once and
 * in that order, nothing else (OpenSSL refuses the certificate otherwise).
 */
export function decodeAuthorityKeyIdentifier(value: Uint8Array): string | undefined {
  const fields = children(expectTag(parseDer(value), Tag.SEQUENCE, 'AuthorityKeyIdentifier'));
  let keyId: string | undefined;
  let last = -1;
  for (const field of fields) {
    const index = field.tag === 0x80 ? 0 : field.tag === 0xa1 ? 1 : field.tag === 0x82 ? 2 : -1;
    if (index < 0) invalid('AuthorityKeyIdentifier has an unknown field');
    if (index <= last) invalid('AuthorityKeyIdentifier fields out of order or repeated');
    last = index;
    if (index === 0) keyId = toHex(content(field));
    else if (index === 1) decodeGeneralNames({ ...field, tag: Tag.SEQUENCE });
    else if (content(field).length === 0) invalid('empty authorityCertSerialNumber');
  }
  return keyId;
}

/** Decodes every extension certloop reads, and lists critical ones it does not understand. */
export function decodeExtensions(extensions: readonly CertificateExtension[]): DecodedExtensions {
  const out: {
    -readonly [K in keyof DecodedExtensions]: DecodedExtensions[K];
  } = { unknownCritical: [] };
  const unknownCritical: string[] = [];
  for (const ext of extensions) {
    switch (ext.oid) {
      case OID.basicConstraints:
        out.basicConstraints = decodeBasicConstraints(ext.value);
        break;
      case OID.keyUsage:
        out.keyUsage = decodeKeyUsage(ext.value);
        break;
      case OID.extKeyUsage:
        out.extKeyUsage = decodeExtKeyUsage(ext.value);
        break;
      case OID.subjectKeyIdentifier:
        out.subjectKeyId = decodeSubjectKeyIdentifier(ext.value);
        break;
      case OID.authorityKeyIdentifier: {
        const id = decodeAuthorityKeyIdentifier(ext.value);
        if (id !== undefined) out.authorityKeyId = id;
        break;
      }
      case OID.subjectAltName: {
        // Only the four kinds certloop uses are kept; others (otherName, directoryName) are ignored.
        const { dnsNames, ipAddresses, uris, emails } = decodeGeneralNames(ext.value);
        out.subjectAltNames = { dnsNames, ipAddresses, uris, emails };
        break;
      }
      case OID.nameConstraints:
        // decoded and enforced by path validation (name-constraints.ts), critical or not
        break;
      default:
        if (ext.critical) unknownCritical.push(ext.oid);
    }
  }
  out.unknownCritical = unknownCritical;
  return out;
}

function invalid(message: string): never {
  throw new CertloopError('CERTLOOP_INVALID_DER', `malformed extension: ${message}`);
}
