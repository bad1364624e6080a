/**
 * Internal (`@certloop/pkcs11`): the public half of a token key as a SubjectPublicKeyInfo, the generation
 * templates, and signing input in the form PKCS#11's raw mechanisms take (the hash is computed here, so the same
 * two mechanisms, CKM_ECDSA and CKM_RSA_PKCS, work on every token).
 */
import { createHash, createPublicKey } from 'node:crypto';
import { CertloopError, describePublicKey, type HashName, type KeyAlgorithm, type PublicKeyInfo } from '@certloop/core';
import type { Pkcs11Api } from './module.js';

/** The key algorithms certloop makes on a token. */
export const TOKEN_KEY_ALGORITHMS = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072'] as const;
export type TokenKeyAlgorithm = (typeof TOKEN_KEY_ALGORITHMS)[number];

// namedCurve OIDs, DER (CKA_EC_PARAMS)
const CURVES: Readonly<Record<string, { der: Buffer; size: number }>> = {
  'P-256': { der: Buffer.from('06082a8648ce3d030107', 'hex'), size: 32 },
  'P-384': { der: Buffer.from('06052b81040022', 'hex'), size: 48 },
};

/** DigestInfo prefixes (RFC 8017 section 9.2, note 1) for RSASSA-PKCS1-v1_5 over CKM_RSA_PKCS. */
const DIGEST_INFO: Readonly<Record<HashName, Buffer>> = {
  'SHA-1': Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  'SHA-256': Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  'SHA-384': Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  'SHA-512': Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const NODE_HASH: Readonly<Record<HashName, string>> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

export function curveOfParams(params: Buffer): string | undefined {
  for (const [name, curve] of Object.entries(CURVES)) if (curve.der.equals(params)) return name;
  return undefined;
}

export function curveSize(curve: string): number | undefined {
  return CURVES[curve]?.size;
}

/** The generation mechanism and templates of a key pair (the private half sensitive and never extractable). */
export function generationTemplates(
  p11: Pkcs11Api,
  algorithm: TokenKeyAlgorithm,
  label: string,
  id: Buffer,
): {
  mechanism: number;
  publicTemplate: { type: number; value: unknown }[];
  privateTemplate: { type: number; value: unknown }[];
} {
  const common = [
    { type: p11.CKA_TOKEN, value: true },
    { type: p11.CKA_LABEL, value: label },
    { type: p11.CKA_ID, value: id },
  ];
  const privateTemplate = [
    ...common,
    { type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY },
    { type: p11.CKA_PRIVATE, value: true },
    { type: p11.CKA_SENSITIVE, value: true },
    { type: p11.CKA_EXTRACTABLE, value: false },
    { type: p11.CKA_SIGN, value: true },
    { type: p11.CKA_DECRYPT, value: false },
    { type: p11.CKA_UNWRAP, value: false },
    { type: p11.CKA_DERIVE, value: false },
  ];
  const publicCommon = [
    ...common,
    { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY },
    { type: p11.CKA_PRIVATE, value: false },
    { type: p11.CKA_VERIFY, value: true },
    { type: p11.CKA_ENCRYPT, value: false },
    { type: p11.CKA_WRAP, value: false },
  ];
  if (algorithm.startsWith('ECDSA-')) {
    const curve = algorithm === 'ECDSA-P256' ? 'P-256' : 'P-384';
    return {
      mechanism: p11.CKM_EC_KEY_PAIR_GEN,
      publicTemplate: [...publicCommon, { type: p11.CKA_EC_PARAMS, value: CURVES[curve]!.der }],
      privateTemplate,
    };
  }
  return {
    mechanism: p11.CKM_RSA_PKCS_KEY_PAIR_GEN,
    publicTemplate: [
      ...publicCommon,
      { type: p11.CKA_MODULUS_BITS, value: Number(algorithm.slice(4)) },
      { type: p11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    ],
    privateTemplate,
  };
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** CKA_EC_POINT is a DER OCTET STRING around the point on most tokens, the bare point on a few. */
function ecPoint(value: Buffer, size: number): Buffer {
  if (value.length === 2 * size + 1 && value[0] === 4) return value;
  if (value[0] === 0x04) {
    // OCTET STRING, short or one-byte long form
    const [len, start] = value[1]! < 0x80 ? [value[1]!, 2] : value[1] === 0x81 ? [value[2]!, 3] : [-1, 0];
    if (len === value.length - start) return value.subarray(start);
  }
  throw new CertloopError('CERTLOOP_PKCS11_KEY_REJECTED', 'the token gave an EC point certloop cannot read');
}

/** The SubjectPublicKeyInfo (DER) of an EC key from CKA_EC_PARAMS and CKA_EC_POINT. */
export function ecSpki(params: Buffer, point: Buffer): { spkiDer: Uint8Array; info: PublicKeyInfo } {
  const curve = curveOfParams(params);
  if (!curve) {
    throw new CertloopError('CERTLOOP_PKCS11_KEY_REJECTED', 'the key is on a curve certloop does not sign with', {
      details: { ecParams: params.toString('hex') },
    });
  }
  const size = CURVES[curve]!.size;
  const raw = ecPoint(point, size);
  if (raw.length !== 2 * size + 1 || raw[0] !== 4) {
    throw new CertloopError('CERTLOOP_PKCS11_KEY_REJECTED', 'the EC point is not an uncompressed point of its curve');
  }
  const jwk = { kty: 'EC', crv: curve, x: b64url(raw.subarray(1, 1 + size)), y: b64url(raw.subarray(1 + size)) };
  return spkiOf(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

/** The SubjectPublicKeyInfo (DER) of an RSA key from CKA_MODULUS and CKA_PUBLIC_EXPONENT. */
export function rsaSpki(modulus: Buffer, exponent: Buffer): { spkiDer: Uint8Array; info: PublicKeyInfo } {
  const jwk = { kty: 'RSA', n: b64url(stripZeros(modulus)), e: b64url(stripZeros(exponent)) };
  return spkiOf(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

function stripZeros(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

function spkiOf(der: Buffer): { spkiDer: Uint8Array; info: PublicKeyInfo } {
  const spkiDer = new Uint8Array(der);
  return { spkiDer, info: describePublicKey(spkiDer) };
}

/** Refuses keys certloop does not sign CAs with: RSA under 2048 bits, EC off P-256/P-384, anything else. */
export function checkTokenKey(info: PublicKeyInfo): void {
  const fits =
    (info.type === 'RSA' && info.size >= 2048 && info.size <= 8192) ||
    (info.type === 'ECDSA' && (info.curve === 'P-256' || info.curve === 'P-384'));
  if (!fits) {
    throw new CertloopError('CERTLOOP_PKCS11_KEY_REJECTED', 'the token key is not one certloop signs with', {
      details: { type: info.type, size: info.size, ...(info.curve ? { curve: info.curve } : {}) },
    });
  }
}

/** What CKM_ECDSA or CKM_RSA_PKCS signs for `data` under `hash`. */
export function mechanismInput(info: PublicKeyInfo, hash: HashName | undefined, data: Uint8Array): Buffer {
  if (info.type === 'Ed25519') {
    throw new CertloopError('CERTLOOP_PKCS11_KEY_REJECTED', 'Ed25519 keys on tokens are not supported');
  }
  const name = hash ?? 'SHA-256';
  const digest = createHash(NODE_HASH[name]).update(data).digest();
  return info.type === 'RSA' ? Buffer.concat([DIGEST_INFO[name], digest]) : digest;
}

/** The raw signature's size: 2 * the curve's size for ECDSA, the modulus size for RSA. */
export function signatureSize(info: PublicKeyInfo): number {
  return info.type === 'ECDSA' ? 2 * (curveSize(info.curve ?? '') ?? 66) : Math.ceil(info.size / 8);
}

/** Whether `algorithm` is one certloop makes on a token. */
export function isTokenKeyAlgorithm(algorithm: KeyAlgorithm | string): algorithm is TokenKeyAlgorithm {
  return (TOKEN_KEY_ALGORITHMS as readonly string[]).includes(algorithm);
}
