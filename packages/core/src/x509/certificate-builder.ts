/**
 * Internal (`@certloop/core` x509): the issuance hot path. Builds a v3 TBSCertificate straight from bytes and
 * signs it with an issuer prepared once (name DER, key identifier, imported key and algorithm all cached).
 */
import { randomBytes } from 'node:crypto';
import { CertloopError } from '../errors.js';
import { type CryptoEngine, type EngineKey, nodeCryptoEngine } from './crypto-engine.js';
import { bitString, contextTag, seq, smallInteger, time, unsignedInteger } from './der.js';
import {
  authorityKeyIdentifierValue,
  basicConstraintsValue,
  extension,
  extKeyUsageValue,
  keyUsageValue,
  subjectAltNameValue,
  subjectKeyIdentifierValue,
} from './extensions-writer.js';
import { isEmptyAltNames } from './general-names.js';
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
  readonly pkcs8Der: Uint8Array;
  readonly info: PublicKeyInfo;
  readonly engine?: CryptoEngine | undefined;
}

/** Imports the issuer's key once and fixes the signature algorithm. */
export async function prepareIssuer(request: PrepareIssuerRequest): Promise<PreparedIssuer> {
  const engine = request.engine ?? nodeCryptoEngine;
  return {
    nameDer: request.nameDer,
    keyIdentifier: request.keyIdentifier,
    key: await engine.importPrivateKey(request.pkcs8Der, request.info),
    algorithm: signatureAlgorithmForKey(request.info),
    engine,
  };
}

/** 16 random bytes, top bit cleared and the next set: positive, always 16 bytes long, 126 bits of entropy. */
export function randomSerialNumber(): Uint8Array {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return new Uint8Array(serial.buffer, serial.byteOffset, 16);
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
  readonly subjectDer: Uint8Array;
  readonly spkiDer: Uint8Array;
  /** Encoded Extension elements, in order. */
  readonly extensions: readonly Uint8Array[];
}

const VERSION_3 = contextTag(0, true, smallInteger(2));

/** Builds and signs the certificate; gives its DER and PEM. */
export async function buildCertificate(
  issuer: PreparedIssuer,
  template: CertificateTemplate,
): Promise<{ der: Uint8Array; pem: string }> {
  if (template.notAfter.getTime() <= template.notBefore.getTime()) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'notAfter must be after notBefore');
  }
  const tbs = seq(
    VERSION_3,
    unsignedInteger(template.serialNumber),
    issuer.algorithm.der,
    issuer.nameDer,
    seq(time(template.notBefore), time(template.notAfter)),
    template.subjectDer,
    template.spkiDer,
    ...(template.extensions.length ? [contextTag(3, true, seq(...template.extensions))] : []),
  );
  const hash = issuer.algorithm.hash;
  const signature = await issuer.engine.sign({ key: issuer.key, ...(hash ? { hash } : {}), data: tbs });
  const der = seq(tbs, issuer.algorithm.der, bitString(signature));
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

/** The extensions certloop writes for a profile: basicConstraints, keyUsage, EKU, SKI, AKI, SAN. */
export function profileExtensions(request: ProfileExtensionsRequest): Uint8Array[] {
  const isCa = request.profile === 'ca';
  const usages: KeyUsageName[] = isCa
    ? ['digitalSignature', 'keyCertSign', 'cRLSign']
    : request.subjectKey.type === 'RSA'
      ? ['digitalSignature', 'keyEncipherment']
      : ['digitalSignature'];
  const out = [
    extension(OID.basicConstraints, true, basicConstraintsValue(isCa, isCa ? request.pathLength : undefined)),
    extension(OID.keyUsage, true, keyUsageValue(usages)),
  ];
  if (request.profile !== 'ca') out.push(extension(OID.extKeyUsage, false, extKeyUsageValue(EKU[request.profile])));
  out.push(extension(OID.subjectKeyIdentifier, false, subjectKeyIdentifierValue(request.subjectKeyIdentifier)));
  if (request.authorityKeyIdentifier) {
    out.push(extension(OID.authorityKeyIdentifier, false, authorityKeyIdentifierValue(request.authorityKeyIdentifier)));
  }
  if (request.sans && !isEmptyAltNames(request.sans)) {
    out.push(extension(OID.subjectAltName, request.subjectEmpty, subjectAltNameValue(request.sans)));
  }
  return out;
}

/** Lower-case hex of a serial's magnitude (leading zero bytes dropped). */
export function serialHex(serial: Uint8Array): string {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i++;
  return Buffer.from(serial.buffer, serial.byteOffset + i, serial.byteLength - i).toString('hex');
}
