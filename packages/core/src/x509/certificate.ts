/**
 * Internal (`@certloop/core` x509): the X.509 certificate parser (RFC 5280 4.1).
 *
 * One pass over the DER, no copies: every byte field is a view into the input. Structure is checked strictly
 * (tags, order, no trailing data, v3-only extensions, matching inner and outer signature algorithms, no
 * duplicate extensions); anything malformed throws `CERTLOOP_INVALID_DER`, oversize input `CERTLOOP_INPUT_TOO_LARGE`.
 * Extension values are left undecoded here (see extensions.ts), names undecoded (see name.ts): callers that only
 * build paths never pay for them.
 */

import { CertloopError } from '../errors.js';
import {
  checkWellFormed,
  children,
  content,
  type DerNode,
  expectTag,
  parseDer,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOid,
  readSmallInteger,
  readTime,
  refuseDefault,
  Tag,
  whole,
} from './der.js';
import { checkExtensionStructure } from './extension-structure.js';
import { PEM_LIMITS } from './pem.js';
import { serialText } from './serial.js';
import { readSpki } from './spki.js';

/** One extension as it sits in the certificate: `value` is the content of extnValue (the inner DER). */
export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

export interface ParsedCertificate {
  /** The whole certificate. */
  readonly der: Uint8Array;
  /** The signed part (TBSCertificate), as signed. */
  readonly tbs: Uint8Array;
  /** 1 or 3 (2 is accepted as written). */
  readonly version: number;
  /** Lower-case hex of the serial's magnitude, no sign byte, no separators; `-` first when negative (as OpenSSL). */
  readonly serialNumber: string;
  /** The outer AlgorithmIdentifier (SEQUENCE), whole DER. */
  readonly signatureAlgorithmDer: Uint8Array;
  readonly signatureAlgorithmOid: string;
  /** The signatureValue BIT STRING's bytes. */
  readonly signature: Uint8Array;
  /** Issuer and subject Name (SEQUENCE), whole DER: compared byte for byte when building paths. */
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly issuerNode: DerNode;
  readonly subjectNode: DerNode;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo, whole DER. */
  readonly spkiDer: Uint8Array;
  readonly extensions: readonly CertificateExtension[];
}

function invalid(message: string): never {
  throw new CertloopError('CERTLOOP_INVALID_DER', `malformed certificate: ${message}`);
}

/** Byte equality of two views. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The serial as OpenSSL and Node show it: magnitude in hex, `-` before a negative one (not two's complement). */
function serialHex(node: DerNode): string {
  const bytes = readIntegerBytes(node);
  // RFC 5280 allows 20 octets; tolerate a little more (sign byte, lax issuers) but bound it.
  if (bytes.length > 32) invalid('serial number longer than 32 bytes');
  return serialText(bytes);
}

/** An AlgorithmIdentifier: an OID and at most one parameters element (RFC 5280 4.1.1.2). */
export function checkAlgorithmIdentifier(node: DerNode): DerNode {
  const parts = children(node);
  if (parts.length < 1 || parts.length > 2) invalid('AlgorithmIdentifier must hold an OID and at most one parameter');
  const parameters = parts[1];
  if (parameters?.tag === Tag.NULL && parameters.end !== parameters.contentStart) invalid('NULL with content');
  if (parameters) checkWellFormed(whole(parameters));
  return expectTag(parts[0], Tag.OID, 'algorithm');
}

function parseExtensions(node: DerNode): CertificateExtension[] {
  const list = expectTag(children(node)[0], Tag.SEQUENCE, 'extensions');
  if (children(node).length !== 1) invalid('extensions wrapper holds more than one element');
  const out: CertificateExtension[] = [];
  const seen = new Set<string>();
  for (const ext of children(list)) {
    expectTag(ext, Tag.SEQUENCE, 'extension');
    const parts = children(ext);
    const oid = readOid(parts[0]!);
    let index = 1;
    let critical = false;
    if (parts[index]?.tag === Tag.BOOLEAN) {
      critical = readBoolean(parts[index++]!);
      if (!critical) refuseDefault(`extension ${oid} critical`);
    }
    const value = expectTag(parts[index++], Tag.OCTET_STRING, 'extnValue');
    if (index !== parts.length) invalid(`extension ${oid} has extra fields`);
    // Every value is one well-formed DER element, understood by certloop or not (OpenSSL and Go decode more
    // extensions than certloop, and refuse a certificate whose extension they cannot decode).
    checkWellFormed(content(value));
    checkExtensionStructure(oid, content(value));
    // RFC 5280 4.2: a certificate must not include more than one instance of an extension.
    if (seen.has(oid)) invalid(`duplicate extension ${oid}`);
    seen.add(oid);
    out.push({ oid, critical, value: value.bytes.subarray(value.contentStart, value.end) });
  }
  if (out.length === 0) invalid('empty extensions');
  return out;
}

/** Parses one DER certificate. Bounds its size first (`PEM_LIMITS.maxDerBytes` unless `maxBytes` says otherwise). */
export function parseCertificate(der: Uint8Array, maxBytes: number = PEM_LIMITS.maxDerBytes): ParsedCertificate {
  if (!(der instanceof Uint8Array)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a certificate must be PEM text or DER bytes');
  }
  if (der.length > maxBytes) {
    throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', `certificate of ${der.length} bytes exceeds ${maxBytes}`, {
      details: { size: der.length, limit: maxBytes },
    });
  }
  const root = expectTag(parseDer(der), Tag.SEQUENCE, 'certificate');
  const top = children(root);
  if (top.length !== 3) invalid('expected tbsCertificate, signatureAlgorithm, signatureValue');
  const tbsNode = expectTag(top[0], Tag.SEQUENCE, 'tbsCertificate');
  const outerAlg = expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm');
  const signature = readBitString(top[2]!);
  if (signature.unusedBits !== 0) invalid('signature has unused bits');

  const fields = children(tbsNode);
  let i = 0;
  let version = 1;
  if (fields[i]?.tag === 0xa0) {
    const inner = children(fields[i++]!);
    if (inner.length !== 1) invalid('bad version');
    version = readSmallInteger(inner[0]!) + 1;
    if (version === 1) refuseDefault('version v1');
    if (version > 3) invalid(`unsupported version ${version}`);
  }
  const serialNumber = serialHex(expectTag(fields[i++], Tag.INTEGER, 'serialNumber'));
  const innerAlg = expectTag(fields[i++], Tag.SEQUENCE, 'signature');
  const issuerNode = expectTag(fields[i++], Tag.SEQUENCE, 'issuer');
  const validity = children(expectTag(fields[i++], Tag.SEQUENCE, 'validity'));
  if (validity.length !== 2) invalid('validity must hold notBefore and notAfter');
  const subjectNode = expectTag(fields[i++], Tag.SEQUENCE, 'subject');
  const spkiNode = expectTag(fields[i++], Tag.SEQUENCE, 'subjectPublicKeyInfo');
  // issuerUniqueID [1] and subjectUniqueID [2]: v2+ only, primitive BIT STRINGs; certloop never relies on them.
  for (const tag of [0x81, 0x82]) {
    const field = fields[i];
    if (field?.tag !== tag && field?.tag !== (tag | 0x20)) continue;
    if (version === 1 || field.tag !== tag) invalid('malformed or misplaced unique identifier');
    readBitString({ ...field, tag: Tag.BIT_STRING });
    i++;
  }
  let extensions: CertificateExtension[] = [];
  if (fields[i]?.tag === 0xa3) {
    if (version !== 3) invalid('extensions in a certificate that is not v3');
    extensions = parseExtensions(fields[i++]!);
  }
  if (i !== fields.length) invalid('unexpected fields at the end of tbsCertificate');

  const signatureAlgorithmDer = whole(outerAlg);
  // RFC 5280 4.1.1.2: the signed and the outer algorithm identifiers must be equal.
  if (!bytesEqual(signatureAlgorithmDer, whole(innerAlg))) invalid('inner and outer signature algorithms differ');
  const signatureAlgorithmOid = readOid(checkAlgorithmIdentifier(outerAlg));
  // The key's structure (exactly algorithm and key, no extra elements): trust anchors are parsed here too.
  readSpki(spkiNode);

  return {
    der: whole(root),
    tbs: whole(tbsNode),
    version,
    serialNumber,
    signatureAlgorithmDer,
    signatureAlgorithmOid,
    signature: signature.bytes,
    issuerDer: whole(issuerNode),
    subjectDer: whole(subjectNode),
    issuerNode,
    subjectNode,
    notBefore: readTime(validity[0]!),
    notAfter: readTime(validity[1]!),
    spkiDer: whole(spkiNode),
    extensions,
  };
}
