/**
 * `@certloop/core` certificate signing requests (PKCS#10, RFC 2986): create, parse and verify.
 *
 * A CSR carries its subject alternative names (and any other requested extension) in an extensionRequest
 * attribute. Parsing is bounded and strict; `verifyCsr` checks the signature, the proof that the requester holds
 * the private key.
 */

import { CertloopError } from '../errors.js';
import {
  type CryptoEngine,
  type EngineKey,
  type EngineVerifyRequest,
  type ExternalPrivateKey,
  externalKeyEngine,
  nodeCryptoEngine,
  nodeSync,
} from './crypto-engine.js';
import {
  bitString,
  checkWellFormed,
  children,
  content,
  contextTag,
  type DerNode,
  expectTag,
  oid,
  parseDer,
  readBitString,
  readBoolean,
  readOid,
  readSmallInteger,
  refuseDefault,
  seq,
  setOf,
  smallInteger,
  Tag,
  whole,
} from './der.js';
import { checkExtensionStructure } from './extension-structure.js';
import { extension, subjectAltNameValue } from './extensions-writer.js';
import { decodeGeneralNames, isEmptyAltNames } from './general-names.js';
import { checkRsaFloor, keyWeakness } from './key-strength.js';
import { signingKey } from './keys.js';
import { type DecodedName, decodeNameLazyText, encodeName } from './name.js';
import { OID } from './oids.js';
import { optionalEngine, requireObject } from './options.js';
import { decodeBase64Body, pemDecode, pemEncode } from './pem.js';
import { decodeSignatureAlgorithm, type SignatureAlgorithm, signData } from './signature.js';
import { describeSpkiParts, readSpki, type SpkiParts } from './spki.js';
import type { DistinguishedName, PublicKeyInfo, SubjectAltNames } from './types.js';

/** Bounds checked before a CSR is parsed. */
export const CSR_LIMITS = { maxPemBytes: 32 * 1024, maxDerBytes: 16 * 1024 } as const;

const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;

export interface RequestedExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue's content (the extension's own DER). */
  readonly valueDer: Uint8Array;
}

export interface CreateCsrRequest {
  /** PKCS#8, PKCS#1 or SEC1 PEM; or the key where it is held (a token), which then signs the CSR. */
  readonly privateKeyPem: string | ExternalPrivateKey;
  readonly subject: DistinguishedName;
  readonly dnsNames?: readonly string[] | undefined;
  readonly ipAddresses?: readonly string[] | undefined;
  readonly uris?: readonly string[] | undefined;
  readonly emails?: readonly string[] | undefined;
  /** Further extensions to request, after subjectAltName. */
  readonly extensions?: readonly RequestedExtension[] | undefined;
  readonly engine?: CryptoEngine | undefined;
}

/** Creates and signs a PKCS#10 CSR. */
export async function createCsr(request: CreateCsrRequest): Promise<{ csrPem: string; csrDer: Uint8Array }> {
  requireObject(request, 'createCsr request');
  const key = signingKey(request.privateKeyPem);
  const sans = {
    dnsNames: request.dnsNames ?? [],
    ipAddresses: request.ipAddresses ?? [],
    uris: request.uris ?? [],
    emails: request.emails ?? [],
  };
  const extensions: Uint8Array[] = [];
  if (!isEmptyAltNames(sans)) extensions.push(extension(OID.subjectAltName, false, subjectAltNameValue(sans)));
  for (const ext of request.extensions ?? []) extensions.push(extension(ext.oid, ext.critical, ext.valueDer));
  const attributes = extensions.length ? [seq(oid(OID.extensionRequest), setOf(seq(...extensions)))] : [];
  const info = seq(smallInteger(0), encodeName(request.subject), key.spkiDer, contextTag(0, true, ...attributes));
  let engine = optionalEngine(request.engine) ?? nodeCryptoEngine;
  let engineKey: EngineKey;
  if ('externalKey' in key.issuerKey) {
    ({ engine, key: engineKey } = externalKeyEngine(key.issuerKey.externalKey, engine));
  } else {
    engineKey = await engine.importPrivateKey(key.issuerKey.pkcs8Der, key.info);
  }
  const { signature, algorithm } = await signData({ key: engineKey, data: info, engine });
  const csrDer = seq(info, algorithm.der, bitString(signature));
  return { csrPem: pemEncode('CERTIFICATE REQUEST', csrDer), csrDer };
}

export interface ParsedCsr {
  readonly subject: DistinguishedName;
  /** RFC 4514 text, most specific first. */
  readonly subjectText: string;
  readonly sans: SubjectAltNames;
  readonly publicKey: PublicKeyInfo;
  readonly publicKeyPem: string;
  readonly requestedExtensions: readonly RequestedExtension[];
  /** Present when the CSR requests basicConstraints. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLength?: number };
  /** OpenSSL-style name, e.g. `ecdsa-with-SHA256`. */
  readonly signatureAlgorithm: string;
}

/** Internal: the parsed CSR (without its PEM public key, made only on demand) plus the raw parts issuance needs. */
export interface DecodedCsr extends Omit<ParsedCsr, 'publicKeyPem' | 'subjectText'> {
  /** The subject, decoded; its RFC 4514 `text` is rendered when read (parseCsr reads it, the CA never does). */
  readonly subjectName: DecodedName;
  readonly der: Uint8Array;
  readonly infoDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly spkiDer: Uint8Array;
  /** What the SPKI holds, read once (the issuance path needs the key bits three times). */
  readonly spkiParts: SpkiParts;
  readonly signatureAlgorithmNode: DerNode;
  /** The signature algorithm, decoded once. */
  readonly algorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
}

function invalidCsr(message: string, cause?: unknown): never {
  throw new CertloopError('CERTLOOP_CSR_INVALID', `invalid CSR: ${message}`, cause === undefined ? {} : { cause });
}

/**
 * The requested extensions, from attributes read as strictly as a certificate's fields: each Attribute exactly a type
 * and a non-empty SET of values (RFC 2986), every value well-formed DER whether certloop reads it or not, one
 * extensionRequest at most; each requested extension at most once, critical FALSE never encoded, its value one
 * well-formed DER element of the shape OpenSSL decodes (see extension-structure.ts), used by the CA or not.
 */
function decodeRequestedExtensions(attributes: DerNode | undefined): RequestedExtension[] {
  const out: RequestedExtension[] = [];
  if (!attributes) return out;
  if (attributes.tag !== 0xa0) invalidCsr('attributes must be [0]');
  let extensionRequest = false;
  for (const attribute of children(attributes)) {
    const parts = children(expectTag(attribute, Tag.SEQUENCE, 'Attribute'));
    if (parts.length !== 2) invalidCsr('an attribute must hold a type and a SET of values');
    const [typeNode, values] = parts as [DerNode, DerNode];
    const type = readOid(expectTag(typeNode, Tag.OID, 'attribute type'));
    const valueList = children(expectTag(values, Tag.SET, 'attribute values'));
    if (valueList.length === 0) invalidCsr(`attribute ${type} has no value`);
    if (type !== OID.extensionRequest) {
      for (const value of valueList) checkWellFormed(whole(value));
      continue;
    }
    if (extensionRequest) invalidCsr('extensionRequest appears twice');
    extensionRequest = true;
    if (valueList.length !== 1) invalidCsr('extensionRequest must hold one value');
    const extensions = children(expectTag(valueList[0], Tag.SEQUENCE, 'Extensions'));
    // Extensions ::= SEQUENCE SIZE (1..MAX): an empty one is refused, as in a certificate (pkijs cannot read it)
    if (extensions.length === 0) invalidCsr('empty extensionRequest');
    for (const ext of extensions) {
      const parts = children(expectTag(ext, Tag.SEQUENCE, 'Extension'));
      const extOid = readOid(parts[0]!);
      let critical = false;
      let index = 1;
      if (parts[index]?.tag === Tag.BOOLEAN) {
        critical = readBoolean(parts[index++]!);
        if (!critical) refuseDefault(`extension ${extOid} critical`);
      }
      const value = expectTag(parts[index], Tag.OCTET_STRING, 'extnValue');
      if (index + 1 !== parts.length) invalidCsr('extension has extra fields');
      if (out.some((e) => e.oid === extOid)) invalidCsr(`extension ${extOid} requested twice`);
      // subjectAltName and basicConstraints are decoded strictly below; every other value is checked here
      if (extOid !== OID.subjectAltName && extOid !== OID.basicConstraints) {
        checkWellFormed(content(value));
        checkExtensionStructure(extOid, content(value));
      }
      out.push({ oid: extOid, critical, valueDer: content(value) });
    }
  }
  return out;
}

function decodeBasicConstraintsValue(value: Uint8Array): { ca: boolean; pathLength?: number } {
  const fields = children(expectTag(parseDer(value), Tag.SEQUENCE, 'BasicConstraints'));
  let i = 0;
  const ca = fields[i]?.tag === Tag.BOOLEAN ? readBoolean(fields[i++]!) : false;
  if (i === 1 && !ca) refuseDefault('basicConstraints cA');
  const pathLength = fields[i]?.tag === Tag.INTEGER ? readSmallInteger(fields[i++]!) : undefined;
  if (i !== fields.length) invalidCsr('basicConstraints has extra fields');
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

/** Parses DER (internal; bounds already checked by the caller). */
export function decodeCsr(der: Uint8Array): DecodedCsr {
  if (der.length > CSR_LIMITS.maxDerBytes) {
    throw new CertloopError(
      'CERTLOOP_INPUT_TOO_LARGE',
      `CSR of ${der.length} bytes exceeds ${CSR_LIMITS.maxDerBytes}`,
      {
        details: { size: der.length, limit: CSR_LIMITS.maxDerBytes },
      },
    );
  }
  try {
    const [infoNode, algNode, sigNode, extra] = children(
      expectTag(parseDer(der), Tag.SEQUENCE, 'CertificationRequest'),
    );
    if (extra) invalidCsr('trailing fields');
    const [version, subject, spki, attributes, more] = children(
      expectTag(infoNode, Tag.SEQUENCE, 'CertificationRequestInfo'),
    );
    if (more) invalidCsr('trailing fields in CertificationRequestInfo');
    if (readSmallInteger(version!) !== 0) invalidCsr('unsupported version');
    const name = decodeNameLazyText(expectTag(subject, Tag.SEQUENCE, 'subject'));
    const spkiNode = expectTag(spki, Tag.SEQUENCE, 'subjectPKInfo');
    const spkiDer = whole(spkiNode);
    const spkiParts = readSpki(spkiNode);
    const signatureAlgorithm = decodeSignatureAlgorithm(expectTag(algNode, Tag.SEQUENCE, 'signatureAlgorithm'));
    const { bytes: signature, unusedBits } = readBitString(expectTag(sigNode, Tag.BIT_STRING, 'signature'));
    if (unusedBits !== 0) invalidCsr('signature has unused bits');
    const requestedExtensions = decodeRequestedExtensions(attributes);
    const sanExt = requestedExtensions.find((e) => e.oid === OID.subjectAltName);
    // Named fields rather than an object rest (`{ otherCount, ...sans }` copies through a slow generic builtin).
    const names = sanExt ? decodeGeneralNames(sanExt.valueDer) : undefined;
    const sans: SubjectAltNames = names
      ? { dnsNames: names.dnsNames, ipAddresses: names.ipAddresses, uris: names.uris, emails: names.emails }
      : { dnsNames: [], ipAddresses: [], uris: [], emails: [] };
    const bcExt = requestedExtensions.find((e) => e.oid === OID.basicConstraints);
    return {
      subject: name.dn,
      subjectName: name,
      sans,
      // The point itself is checked when verifyCsr (and the CA) import the key.
      publicKey: describeSpkiParts(spkiParts, { checkPoint: false }),
      requestedExtensions,
      ...(bcExt ? { basicConstraints: decodeBasicConstraintsValue(bcExt.valueDer) } : {}),
      signatureAlgorithm: signatureAlgorithm.name,
      der,
      infoDer: whole(infoNode!),
      subjectDer: name.der,
      spkiDer,
      spkiParts,
      signatureAlgorithmNode: algNode!,
      algorithm: signatureAlgorithm,
      signature,
    };
  } catch (err) {
    if (err instanceof CertloopError && err.code !== 'CERTLOOP_INVALID_DER') throw err;
    return invalidCsr('malformed structure', err);
  }
}

export interface CsrBounds {
  /** Largest PEM accepted, in bytes (default {@link CSR_LIMITS}.maxPemBytes). */
  readonly maxBytes?: number;
}

const FAST_BEGIN = '-----BEGIN CERTIFICATE REQUEST-----';
const FAST_END = '-----END CERTIFICATE REQUEST-----';

/**
 * The DER of a PEM holding exactly one `CERTIFICATE REQUEST` block and nothing else, in one pass; undefined for
 * anything else, which then takes the general (and stricter-reporting) {@link pemDecode} path.
 */
function fastCsrDer(pem: string): Uint8Array | undefined {
  const start = pem.indexOf(FAST_BEGIN);
  const end = pem.indexOf(FAST_END);
  if (start < 0 || end < start || pem.indexOf('-----', start + FAST_BEGIN.length) !== end) return undefined;
  if (pem.slice(0, start).trim() || pem.slice(end + FAST_END.length).trim()) return undefined;
  // One linear pass (a regular expression here was quadratic in a run of newlines).
  return decodeBase64Body(pem, start + FAST_BEGIN.length, end);
}

/** Internal: bounded PEM decode then {@link decodeCsr}. */
export function readCsrPem(pem: string, bounds: CsrBounds = {}): DecodedCsr {
  const maxBytes = bounds.maxBytes ?? CSR_LIMITS.maxPemBytes;
  const fast = typeof pem === 'string' && pem.length <= maxBytes ? fastCsrDer(pem) : undefined;
  return decodeCsr(fast ?? pemDecode(pem, CSR_LABELS, { maxBytes }).der);
}

/** Parses a CSR PEM (without checking its signature: see {@link verifyCsr}). */
export function parseCsr(pem: string, bounds: CsrBounds = {}): ParsedCsr {
  const {
    der: _der,
    infoDer: _i,
    subjectDer: _s,
    spkiDer,
    spkiParts: _p,
    signatureAlgorithmNode: _a,
    algorithm: _l,
    signature: _g,
    subjectName,
    ...parsed
  } = readCsrPem(pem, bounds);
  return { ...parsed, subjectText: subjectName.text, publicKeyPem: pemEncode('PUBLIC KEY', spkiDer) };
}

/**
 * Internal: verifies an already decoded CSR's signature; throws `CERTLOOP_CSR_SIGNATURE_INVALID`. With the node
 * engine (the default) the key is imported and the signature checked synchronously, without a promise per step.
 */
export async function verifyDecodedCsr(csr: DecodedCsr, engine: CryptoEngine = nodeCryptoEngine): Promise<true> {
  if (engine === nodeCryptoEngine) return verifyDecodedCsrSync(csr);
  let ok: boolean;
  try {
    const key = await engine.importPublicKey(csr.spkiDer, csr.publicKey);
    ok = key.info.type === csr.algorithm.keyType && (await engine.verify(verifyRequest(csr, key)));
  } catch (err) {
    throw new CertloopError('CERTLOOP_CSR_SIGNATURE_INVALID', 'the CSR signature could not be checked', { cause: err });
  }
  if (!ok) throw new CertloopError('CERTLOOP_CSR_SIGNATURE_INVALID', 'the CSR signature does not verify');
  return true;
}

/** Internal: {@link verifyDecodedCsr} with the node engine, synchronously (the issuance hot path). */
export function verifyDecodedCsrSync(csr: DecodedCsr): true {
  let ok: boolean;
  try {
    const key = nodeSync.importPublicKey(csr.spkiDer, csr.publicKey, csr.spkiParts.publicKeyBytes);
    ok = key.info.type === csr.algorithm.keyType && nodeSync.verify(verifyRequest(csr, key));
  } catch (err) {
    throw new CertloopError('CERTLOOP_CSR_SIGNATURE_INVALID', 'the CSR signature could not be checked', { cause: err });
  }
  if (!ok) throw new CertloopError('CERTLOOP_CSR_SIGNATURE_INVALID', 'the CSR signature does not verify');
  return true;
}

function verifyRequest(csr: DecodedCsr, key: EngineKey): EngineVerifyRequest {
  const hash = csr.algorithm.hash;
  // Two literals of fixed shape rather than a spread (which builds the object property by property).
  return hash
    ? { key, hash, data: csr.infoDer, signature: csr.signature }
    : { key, data: csr.infoDer, signature: csr.signature };
}

/** Checks the CSR's signature (proof of possession): resolves `true` or throws `CERTLOOP_CSR_SIGNATURE_INVALID`. */
export async function verifyCsr(
  pem: string,
  options: CsrBounds & {
    readonly engine?: CryptoEngine | undefined;
    /** RSA floor in bits: 2048 (the default) or more; a smaller key throws `CERTLOOP_CSR_INVALID`. */
    readonly minRsaBits?: number | undefined;
  } = {},
): Promise<true> {
  const csr = readCsrPem(pem, options);
  const weakness = keyWeakness(csr.spkiDer, checkRsaFloor(options.minRsaBits));
  if (weakness)
    throw new CertloopError('CERTLOOP_CSR_INVALID', 'the CSR key is below the floor', { details: weakness });
  return verifyDecodedCsr(csr, options.engine);
}
