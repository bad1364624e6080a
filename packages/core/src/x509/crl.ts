/**
 * `@certloop/core` certificate revocation lists (RFC 5280 5): the reader `validateChain` uses.
 *
 * CRLs are read with certloop's own DER reader, as strictly as certificates: DER only, inside and outside the
 * signed part (no DEFAULT or out-of-range values encoded, no BER or trailing bytes inside any extension value, read
 * or not), the issuer Name decoded, both AlgorithmIdentifiers checked, no duplicate extensions. They are checked
 * against the issuer found on the path: issuer name and key identifier, signature, nextUpdate. Delta CRLs and partitioned
 * CRLs (issuingDistributionPoint) are not supported: their critical extensions make the CRL refused.
 */
import { CertloopError } from '../errors.js';
import { checkAlgorithmIdentifier } from './certificate.js';
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
import { decodeAuthorityKeyIdentifier } from './extensions.js';
import { decodeName } from './name.js';
import { OID } from './oids.js';
import { pemSplit } from './pem.js';
import { serialText, toHex } from './serial.js';

/** RFC 5280 5.3.1 CRLReason names, by their ENUMERATED value. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'unused',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;

export type RevocationReason = Exclude<(typeof REVOCATION_REASONS)[number], 'unused' | 'removeFromCRL'>;

export interface RevokedEntry {
  readonly revokedAt: Date;
  readonly reason?: RevocationReason;
}

export interface ParsedCrl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithmDer: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuerDer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Revoked serials (lower-case hex magnitude, as certificates report them). */
  readonly revoked: ReadonlyMap<string, RevokedEntry>;
  /** keyIdentifier of the CRL's authorityKeyIdentifier, lower-case hex. */
  readonly authorityKeyId?: string;
  /** cRLNumber, lower-case hex. */
  readonly crlNumber?: string;
  /** Critical CRL or entry extensions certloop does not process. */
  readonly unknownCritical: readonly string[];
}

/** Largest CRL accepted, DER bytes. */
export const CRL_LIMITS = { maxDerBytes: 4 * 1024 * 1024, maxPemBytes: 6 * 1024 * 1024, maxCrls: 64 } as const;

function invalid(message: string, cause?: unknown): never {
  throw new CertloopError('CERTLOOP_CRL_INVALID', `malformed CRL: ${message}`, cause ? { cause } : {});
}

/**
 * CRLNumber ::= INTEGER (0..MAX), at most 20 octets (RFC 5280 5.2.3): a negative one would be read as a large
 * positive magnitude by a reader that ignores the sign and as a negative number by OpenSSL, so it is refused.
 */
function readCrlNumber(value: Uint8Array): string {
  const bytes = readIntegerBytes(expectTag(parseDer(value), Tag.INTEGER, 'CRLNumber'));
  if (bytes[0]! & 0x80) invalid('negative CRLNumber');
  const magnitude = bytes[0] === 0 && bytes.length > 1 ? bytes.subarray(1) : bytes;
  if (magnitude.length > 20) invalid('CRLNumber longer than 20 octets');
  return toHex(bytes);
}

function serialHex(node: DerNode): string {
  const bytes = readIntegerBytes(node);
  if (bytes.length > 32) invalid('serial number longer than 32 bytes');
  return serialText(bytes);
}

interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/**
 * Extensions (CRL or entry) as certificates have them: not empty, no duplicates, critical FALSE never encoded, and
 * every value one well-formed DER element (BER there would make OpenSSL refuse what certloop accepted).
 */
function readExtensions(node: DerNode): Extension[] {
  const list = children(expectTag(node, Tag.SEQUENCE, 'Extensions'));
  if (list.length === 0) invalid('empty extensions');
  const seen = new Set<string>();
  return list.map((ext) => {
    const parts = children(expectTag(ext, Tag.SEQUENCE, 'Extension'));
    const oid = readOid(expectTag(parts[0], Tag.OID, 'extnID'));
    let i = 1;
    let critical = false;
    if (parts[i]?.tag === Tag.BOOLEAN) {
      critical = readBoolean(parts[i++]!);
      if (!critical) refuseDefault(`extension ${oid} critical`);
    }
    const value = content(expectTag(parts[i++], Tag.OCTET_STRING, 'extnValue'));
    if (i !== parts.length) invalid(`extension ${oid} has extra fields`);
    if (seen.has(oid)) invalid(`duplicate extension ${oid}`);
    seen.add(oid);
    checkWellFormed(value);
    return { oid, critical, value };
  });
}

function parseCrlDer(der: Uint8Array): ParsedCrl {
  const root = expectTag(parseDer(der), Tag.SEQUENCE, 'CertificateList');
  const top = children(root);
  if (top.length !== 3) invalid('expected tbsCertList, signatureAlgorithm, signatureValue');
  const tbsNode = expectTag(top[0], Tag.SEQUENCE, 'tbsCertList');
  const outerAlg = expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm');
  const signature = readBitString(top[2]!);
  if (signature.unusedBits !== 0) invalid('signature has unused bits');
  const fields = children(tbsNode);
  let i = 0;
  let version = 1;
  // RFC 5280 5.1.2.1: version is absent (v1) or v2; an encoded v1 is not DER-distinguishable from a v1 CRL's.
  if (fields[i]?.tag === Tag.INTEGER) {
    version = readSmallInteger(fields[i++]!) + 1;
    if (version !== 2) invalid(`version ${version} written out (only v2 may be)`);
  }
  const innerAlg = expectTag(fields[i++], Tag.SEQUENCE, 'signature');
  if (Buffer.compare(whole(innerAlg), whole(outerAlg)) !== 0) invalid('inner and outer signature algorithms differ');
  checkAlgorithmIdentifier(outerAlg);
  const issuer = expectTag(fields[i++], Tag.SEQUENCE, 'issuer');
  decodeName(issuer);
  const thisUpdate = readTime(fields[i++]!);
  let nextUpdate: Date | undefined;
  if (fields[i]?.tag === Tag.UTC_TIME || fields[i]?.tag === Tag.GENERALIZED_TIME) nextUpdate = readTime(fields[i++]!);
  const unknownCritical: string[] = [];
  const revoked = new Map<string, RevokedEntry>();
  const listed = new Set<string>();
  if (fields[i]?.tag === Tag.SEQUENCE) {
    for (const entry of children(fields[i++]!)) {
      const parts = children(expectTag(entry, Tag.SEQUENCE, 'revokedCertificate'));
      if (parts.length < 2 || parts.length > 3) invalid('revokedCertificate must hold a serial, a date and extensions');
      const serial = serialHex(expectTag(parts[0], Tag.INTEGER, 'userCertificate'));
      // a serial listed twice has two dates (and perhaps reasons): which one counts would be the reader's guess
      if (listed.has(serial)) invalid(`serial ${serial} listed twice`);
      listed.add(serial);
      const revokedAt = readTime(parts[1]!);
      let reason: RevocationReason | undefined;
      let removed = false;
      if (parts[2]) {
        if (version !== 2) invalid('entry extensions in a v1 CRL');
        for (const ext of readExtensions(parts[2])) {
          if (ext.oid === OID.cRLReason) {
            const node = expectTag(parseDer(ext.value), 0x0a, 'CRLReason');
            const name = REVOCATION_REASONS[content(node)[0] ?? -1];
            if (content(node).length !== 1 || !name || name === 'unused') invalid('bad CRLReason');
            // removeFromCRL only has meaning in delta CRLs: the serial is not revoked.
            if (name === 'removeFromCRL') removed = true;
            else reason = name;
          } else if (ext.critical) unknownCritical.push(ext.oid);
        }
      }
      if (!removed) revoked.set(serial, reason ? { revokedAt, reason } : { revokedAt });
    }
  }
  let authorityKeyId: string | undefined;
  let crlNumber: string | undefined;
  if (fields[i]?.tag === 0xa0) {
    if (version !== 2) invalid('extensions in a v1 CRL');
    const wrapper = children(fields[i++]!);
    if (wrapper.length !== 1) invalid('crlExtensions wrapper holds more than one element');
    for (const ext of readExtensions(wrapper[0]!)) {
      if (ext.oid === OID.authorityKeyIdentifier) {
        authorityKeyId = decodeAuthorityKeyIdentifier(ext.value);
        if (ext.critical) unknownCritical.push(ext.oid);
      } else if (ext.oid === OID.cRLNumber) {
        crlNumber = readCrlNumber(ext.value);
      } else if (ext.critical) unknownCritical.push(ext.oid);
    }
  }
  if (i !== fields.length) invalid('unexpected fields at the end of tbsCertList');
  return {
    der: whole(root),
    tbs: whole(tbsNode),
    signatureAlgorithmDer: whole(outerAlg),
    signature: signature.bytes,
    issuerDer: whole(issuer),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    revoked,
    ...(authorityKeyId ? { authorityKeyId } : {}),
    ...(crlNumber ? { crlNumber } : {}),
    unknownCritical,
  };
}

/** Parses one DER CRL. Throws `CERTLOOP_CRL_INVALID` (malformed) or `CERTLOOP_INPUT_TOO_LARGE`. */
export function parseCrl(der: Uint8Array): ParsedCrl {
  if (!(der instanceof Uint8Array)) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a CRL must be PEM or DER');
  if (der.length > CRL_LIMITS.maxDerBytes) {
    throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', `CRL of ${der.length} bytes exceeds ${CRL_LIMITS.maxDerBytes}`);
  }
  try {
    return parseCrlDer(der);
  } catch (err) {
    if (err instanceof CertloopError && err.code === 'CERTLOOP_CRL_INVALID') throw err;
    return invalid('not a DER CertificateList', err);
  }
}

/** CRLs given as PEM text (one or several `X509 CRL` blocks) or DER bytes, alone or in a list. */
export type CrlInput = string | Uint8Array | readonly (string | Uint8Array)[];

// Relying parties pass the same CRL text on every call: the last few are kept parsed (keyed by the text itself).
const PARSED_CACHE_SIZE = 16;
const parsedCache = new Map<string, ParsedCrl[]>();

/** Reads every CRL of `input` (PEM text is parsed once and kept in a small cache). */
export function readCrls(input: CrlInput): ParsedCrl[] {
  if (typeof input === 'string') {
    const hit = parsedCache.get(input);
    if (hit) return hit;
    const parsed = readCrlsUncached(input);
    if (input.length > 1024 * 1024) return parsed; // bounds what the cache holds
    parsedCache.set(input, parsed);
    if (parsedCache.size > PARSED_CACHE_SIZE) parsedCache.delete(parsedCache.keys().next().value!);
    return parsed;
  }
  return readCrlsUncached(input);
}

function readCrlsUncached(input: CrlInput): ParsedCrl[] {
  const items = typeof input === 'string' || input instanceof Uint8Array ? [input] : input;
  if (!Array.isArray(items)) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'crls must be PEM, DER or a list');
  const out: ParsedCrl[] = [];
  for (const item of items) {
    if (typeof item === 'string') {
      for (const block of pemSplit(item, { maxBytes: CRL_LIMITS.maxPemBytes, maxBlocks: CRL_LIMITS.maxCrls })) {
        if (block.label !== 'X509 CRL') invalid(`a PEM block labelled ${block.label}`);
        out.push(parseCrl(block.der));
      }
    } else out.push(parseCrl(item));
    if (out.length > CRL_LIMITS.maxCrls) {
      throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', `more than ${CRL_LIMITS.maxCrls} CRLs`);
    }
  }
  return out;
}
