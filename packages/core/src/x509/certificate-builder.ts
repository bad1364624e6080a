/**
 * Internal (`@certloop/core` x509): the issuance hot path. Builds a v3 TBSCertificate straight from bytes and
 * signs it with an issuer prepared once (name DER, key identifier, imported key and algorithm all cached).
 */
import { randomFillSync } from 'node:crypto';
import { CertloopError } from '../errors.js';
import {
  type CryptoEngine,
  type EngineKey,
  type ExternalPrivateKey,
  externalKeyEngine,
  nodeCryptoEngine,
  nodeSync,
} from './crypto-engine.js';
import { booleanTrue, contextTag, oid, smallInteger, Tag, time, unsignedInteger } from './der.js';
import { type DerPart, derNode, encodeDer, encodeDerScratch } from './der-tree.js';
import {
  authorityKeyIdentifierValue,
  basicConstraintsValue,
  extension,
  extKeyUsageValue,
  keyUsageValue,
} from './extensions-writer.js';
import { generalNamesTree, isEmptyAltNames } from './general-names.js';
import { OID } from './oids.js';
import { pemEncode } from './pem.js';
import { type SignatureAlgorithm, signatureAlgorithmForKey } from './signature.js';
import type { KeyUsageName, PublicKeyInfo, SubjectAltNames } from './types.js';

/** Everything about an issuer that stays the same from one certificate to the next. */
export interface PreparedIssuer {
  /** The issuer's subject Name, DER, exactly as in its certificate. */
  readonly nameDer: Uint8Array;
  /** The issuer's subject key identifier (its certificate's SKI), for the AKI of what it issues. */
  readonly keyIdentifier?: Uint8Array | undefined;
  readonly key: EngineKey;
  readonly algorithm: SignatureAlgorithm;
  readonly engine: CryptoEngine;
}

export interface PrepareIssuerRequest {
  readonly nameDer: Uint8Array;
  readonly keyIdentifier?: Uint8Array | undefined;
  readonly pkcs8Der?: Uint8Array | undefined;
  /** The issuer's key when it is held elsewhere (instead of `pkcs8Der`): signing goes through it. */
  readonly externalKey?: ExternalPrivateKey | undefined;
  readonly info: PublicKeyInfo;
  readonly engine?: CryptoEngine | undefined;
}

/** Imports the issuer's key once (or wraps its external key) and fixes the signature algorithm. */
export async function prepareIssuer(request: PrepareIssuerRequest): Promise<PreparedIssuer> {
  if (request.externalKey) {
    const { engine, key } = externalKeyEngine(request.externalKey, request.engine);
    return {
      nameDer: request.nameDer,
      keyIdentifier: request.keyIdentifier,
      key,
      algorithm: signatureAlgorithmForKey(request.externalKey.info),
      engine,
    };
  }
  if (!request.pkcs8Der) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'an issuer needs a private key');
  const engine = request.engine ?? nodeCryptoEngine;
  return {
    nameDer: request.nameDer,
    keyIdentifier: request.keyIdentifier,
    key: await engine.importPrivateKey(request.pkcs8Der, request.info),
    algorithm: signatureAlgorithmForKey(request.info),
    engine,
  };
}

// Serials come from a pooled CSPRNG buffer: one randomFillSync per 256 serials instead of one per serial.
const SERIAL_POOL = new Uint8Array(16 * 256);
let serialPoolOffset = SERIAL_POOL.length;

/** 16 random bytes, top bit cleared and the next set: positive, always 16 bytes long, 126 bits of entropy. */
export function randomSerialNumber(): Uint8Array {
  if (serialPoolOffset === SERIAL_POOL.length) {
    randomFillSync(SERIAL_POOL);
    serialPoolOffset = 0;
  }
  // Copied out and wiped byte by byte (fill and slice with ranges are calls into V8's runtime, costlier than this).
  const serial = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    serial[i] = SERIAL_POOL[serialPoolOffset + i]!;
    SERIAL_POOL[serialPoolOffset + i] = 0;
  }
  serialPoolOffset += 16;
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

/** Whole seconds (ASN.1 time resolution), rounded down. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export interface CertificateTemplate {
  /** Positive magnitude, big endian (see {@link randomSerialNumber}). */
  readonly serialNumber: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject Name: DER, or a tree still to write (see `nameTree`). */
  readonly subjectDer: DerPart;
  readonly spkiDer: Uint8Array;
  /** Extension elements, in order (encoded, or trees still to write). */
  readonly extensions: readonly DerPart[];
}

const VERSION_3 = contextTag(0, true, smallInteger(2));
const NO_UNUSED_BITS = new Uint8Array([0]);

/** The serial's INTEGER: as a tree when its bytes are already the minimal positive form (as random serials are). */
function serialInteger(serial: Uint8Array): DerPart {
  if (serial.length > 0 && serial[0] !== 0 && !(serial[0]! & 0x80)) return derNode(Tag.INTEGER, serial);
  return unsignedInteger(serial);
}

/** Builds and signs the certificate; gives its DER and PEM. */
export async function buildCertificate(
  issuer: PreparedIssuer,
  template: CertificateTemplate,
): Promise<{ der: Uint8Array; pem: string }> {
  if (issuer.engine === nodeCryptoEngine) return buildCertificateSync(issuer, template);
  const request = signRequest(issuer, template);
  return certificateOf(issuer, request.data, await issuer.engine.sign(request));
}

/**
 * Internal: {@link buildCertificate} for an issuer whose engine is the node engine, synchronously (the issuance hot
 * path: no promise for it). Throws `CERTLOOP_INVALID_ARGUMENT` for any other engine.
 */
export function buildCertificateSync(
  issuer: PreparedIssuer,
  template: CertificateTemplate,
): { der: Uint8Array; pem: string } {
  if (issuer.engine !== nodeCryptoEngine) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'buildCertificateSync needs the node engine');
  }
  const request = signRequest(issuer, template);
  return certificateOf(issuer, request.data, nodeSync.sign(request));
}

/**
 * Internal: {@link buildCertificateSync} giving the PEM only (the issuance hot path, which hands out nothing else):
 * the certificate's DER is then written into pooled memory, like the TBSCertificate, instead of an array of its
 * own that the garbage collector must free.
 */
export function buildCertificatePemSync(issuer: PreparedIssuer, template: CertificateTemplate): string {
  if (issuer.engine !== nodeCryptoEngine) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'buildCertificatePemSync needs the node engine');
  }
  const request = signRequest(issuer, template);
  const signature = nodeSync.sign(request);
  return pemEncode('CERTIFICATE', encodeDerScratch(certificateTree(issuer, request.data, signature)));
}

function signRequest(issuer: PreparedIssuer, template: CertificateTemplate) {
  if (template.notAfter.getTime() <= template.notBefore.getTime()) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'notAfter must be after notBefore');
  }
  // The TBSCertificate only goes to the signer and into the certificate: it is written into pooled memory.
  const tbs = encodeDerScratch(
    derNode(
      Tag.SEQUENCE,
      VERSION_3,
      serialInteger(template.serialNumber),
      issuer.algorithm.der,
      issuer.nameDer,
      derNode(Tag.SEQUENCE, time(template.notBefore), time(template.notAfter)),
      template.subjectDer,
      template.spkiDer,
      ...(template.extensions.length ? [derNode(0xa3, derNode(Tag.SEQUENCE, ...template.extensions))] : []),
    ),
  );
  const hash = issuer.algorithm.hash;
  return hash ? { key: issuer.key, hash, data: tbs } : { key: issuer.key, data: tbs };
}

function certificateTree(issuer: PreparedIssuer, tbs: Uint8Array, signature: Uint8Array) {
  return derNode(Tag.SEQUENCE, tbs, issuer.algorithm.der, derNode(Tag.BIT_STRING, NO_UNUSED_BITS, signature));
}

function certificateOf(issuer: PreparedIssuer, tbs: Uint8Array, signature: Uint8Array) {
  const der = encodeDer(certificateTree(issuer, tbs, signature));
  return { der, pem: pemEncode('CERTIFICATE', der) };
}

export type ExtensionProfile = 'server' | 'client' | 'server+client' | 'ca';

export interface ProfileExtensionsRequest {
  readonly profile: ExtensionProfile;
  /** The subject's key, for key usage (RSA leaves add keyEncipherment). */
  readonly subjectKey: PublicKeyInfo;
  readonly subjectKeyIdentifier: Uint8Array;
  /** The issuer's key identifier; the AKI is left out when absent. */
  readonly authorityKeyIdentifier?: Uint8Array | undefined;
  readonly sans?: Partial<SubjectAltNames> | undefined;
  /** SAN is marked critical when the subject is empty (RFC 5280 4.2.1.6). */
  readonly subjectEmpty: boolean;
  /** pathLenConstraint for a CA. */
  readonly pathLength?: number | undefined;
}

const EKU: Readonly<Record<Exclude<ExtensionProfile, 'ca'>, string[]>> = {
  server: ['serverAuth'],
  client: ['clientAuth'],
  'server+client': ['serverAuth', 'clientAuth'],
};

// The leading extensions depend only on the profile and key family; the AKI only on the issuer. Both are cached.
const fixedExtensionCache = new Map<string, readonly Uint8Array[]>();
const leafExtensionCache: Readonly<Record<Exclude<ExtensionProfile, 'ca'>, (readonly Uint8Array[] | undefined)[]>> = {
  server: [],
  client: [],
  'server+client': [],
};
const akiCache = new WeakMap<Uint8Array, Uint8Array>();
const SKI_OID = oid(OID.subjectKeyIdentifier);
const SAN_OID = oid(OID.subjectAltName);
const BOOLEAN_TRUE = booleanTrue();

function fixedExtensions(
  profile: ExtensionProfile,
  rsa: boolean,
  pathLength: number | undefined,
): readonly Uint8Array[] {
  // A leaf's (every issuance but an intermediate's) are found without building a key string.
  const leafSlots = profile === 'ca' ? undefined : leafExtensionCache[profile];
  const cacheKey = leafSlots ? '' : `${profile}|${rsa}|${pathLength ?? ''}`;
  const cached = leafSlots ? leafSlots[rsa ? 1 : 0] : fixedExtensionCache.get(cacheKey);
  if (cached) return cached;
  const isCa = profile === 'ca';
  const usages: KeyUsageName[] = isCa
    ? ['digitalSignature', 'keyCertSign', 'cRLSign']
    : rsa
      ? ['digitalSignature', 'keyEncipherment']
      : ['digitalSignature'];
  const out = [
    extension(OID.basicConstraints, true, basicConstraintsValue(isCa, isCa ? pathLength : undefined)),
    extension(OID.keyUsage, true, keyUsageValue(usages)),
  ];
  if (profile !== 'ca') out.push(extension(OID.extKeyUsage, false, extKeyUsageValue(EKU[profile])));
  if (leafSlots) leafSlots[rsa ? 1 : 0] = out;
  // Path lengths are small integers in practice; the bound keeps a hostile caller from growing the cache.
  else if (fixedExtensionCache.size < 64) fixedExtensionCache.set(cacheKey, out);
  return out;
}

/** The extensions certloop writes for a profile: basicConstraints, keyUsage, EKU, SKI, AKI, SAN. */
export function profileExtensions(request: ProfileExtensionsRequest): DerPart[] {
  const out: DerPart[] = [...fixedExtensions(request.profile, request.subjectKey.type === 'RSA', request.pathLength)];
  out.push(
    derNode(Tag.SEQUENCE, SKI_OID, derNode(Tag.OCTET_STRING, derNode(Tag.OCTET_STRING, request.subjectKeyIdentifier))),
  );
  const aki = request.authorityKeyIdentifier;
  if (aki) {
    let encoded = akiCache.get(aki);
    if (!encoded) {
      encoded = extension(OID.authorityKeyIdentifier, false, authorityKeyIdentifierValue(aki));
      akiCache.set(aki, encoded);
    }
    out.push(encoded);
  }
  if (request.sans && !isEmptyAltNames(request.sans)) {
    const value = derNode(Tag.OCTET_STRING, generalNamesTree(request.sans));
    out.push(
      request.subjectEmpty
        ? derNode(Tag.SEQUENCE, SAN_OID, BOOLEAN_TRUE, value)
        : derNode(Tag.SEQUENCE, SAN_OID, value),
    );
  }
  return out;
}

/** Lower-case hex of a serial's magnitude (leading zero bytes dropped). */
export function serialHex(serial: Uint8Array): string {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i++;
  return Buffer.from(serial.buffer, serial.byteOffset + i, serial.byteLength - i).toString('hex');
}
