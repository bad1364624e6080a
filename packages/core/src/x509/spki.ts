/**
 * `@certloop/core` SubjectPublicKeyInfo: what kind of key a DER SPKI holds (family, size, curve).
 *
 * Pure DER reading, no crypto: used on certificates, CSRs and keys alike before any key is imported.
 */
import { CertloopError } from '../errors.js';
import {
  children,
  type DerNode,
  derError,
  expectTag,
  nullValue,
  oid,
  parseDer,
  readBitString,
  readIntegerBytes,
  readOid,
  seq,
  Tag,
} from './der.js';
import { OID } from './oids.js';
import { derNodeArgument } from './options.js';
import type { KeyAlgorithm, PublicKeyInfo } from './types.js';

const RSA_ALGORITHMS: Readonly<Record<number, KeyAlgorithm>> = {
  2048: 'RSA-2048',
  3072: 'RSA-3072',
  4096: 'RSA-4096',
};

/** The parts of an SPKI: its algorithm OID, curve OID (EC) and the subjectPublicKey bits. */
export interface SpkiParts {
  readonly algorithmOid: string;
  readonly parametersOid?: string;
  /** The subjectPublicKey BIT STRING's bytes (what RFC 5280's key identifier method 1 hashes). */
  readonly publicKeyBytes: Uint8Array;
}

/**
 * Splits an SPKI into its algorithm and key bits. Throws `CERTLOOP_INVALID_DER` when malformed: more than
 * algorithm and key, an AlgorithmIdentifier of more than OID and parameters, or parameters the algorithm's RFC
 * forbids (RSA: NULL, RFC 3279; EC: a curve OID or explicit parameters, RFC 5480; Ed25519: absent, RFC 8410).
 */
export function readSpki(spki: Uint8Array | DerNode): SpkiParts {
  const node = spki instanceof Uint8Array ? parseDer(spki) : spki;
  const top = children(expectTag(node, Tag.SEQUENCE, 'SubjectPublicKeyInfo'));
  if (top.length !== 2) derError('SubjectPublicKeyInfo must hold an algorithm and a key');
  const [algorithm, key] = top;
  const algorithmParts = children(expectTag(algorithm, Tag.SEQUENCE, 'AlgorithmIdentifier'));
  if (algorithmParts.length < 1 || algorithmParts.length > 2) {
    derError('AlgorithmIdentifier must hold an OID and at most one parameter');
  }
  const [algorithmOidNode, parameters] = algorithmParts;
  const algorithmOid = readOid(algorithmOidNode!);
  const bits = readBitString(expectTag(key, Tag.BIT_STRING, 'subjectPublicKey'));
  const known = algorithmOid === OID.rsaEncryption || algorithmOid === OID.ecPublicKey || algorithmOid === OID.ed25519;
  if (known && bits.unusedBits !== 0) derError('subjectPublicKey has unused bits', 'bit-string');
  if (
    algorithmOid === OID.rsaEncryption &&
    (parameters?.tag !== Tag.NULL || parameters.end !== parameters.contentStart)
  ) {
    derError('rsaEncryption parameters must be NULL');
  }
  if (algorithmOid === OID.ecPublicKey && parameters?.tag !== Tag.OID && parameters?.tag !== Tag.SEQUENCE) {
    derError('ecPublicKey parameters must name a curve');
  }
  if (algorithmOid === OID.ed25519 && parameters) derError('Ed25519 parameters must be absent');
  return {
    algorithmOid,
    ...(parameters?.tag === Tag.OID ? { parametersOid: readOid(parameters) } : {}),
    publicKeyBytes: bits.bytes,
  };
}

/**
 * The SPKI as re-encoded from what {@link readSpki} read, for the three key types certloop issues for: what the CA
 * puts in a certificate is the key it verified, never bytes it only skimmed. Throws `CERTLOOP_INVALID_DER` when
 * the input is not already in that one DER form (and `CERTLOOP_UNSUPPORTED_ALGORITHM` for other key types). The
 * re-encoding is compared with the input piece by piece as it would be written, so when they agree the input (the
 * very same bytes) is what is given back: nothing is built or copied. `parts`: what {@link readSpki} read from
 * `spkiDer`, when the caller has it already.
 */
export function canonicalSpki(spkiDer: Uint8Array, parts: SpkiParts = readSpki(spkiDer)): Uint8Array {
  const algorithm = canonicalAlgorithm(parts);
  const key = parts.publicKeyBytes;
  const bitStringLength = 1 + key.length;
  const contentLength = algorithm.length + headerLength(bitStringLength) + bitStringLength;
  let offset = spkiDer.length === headerLength(contentLength) + contentLength ? 0 : -1;
  offset = matchHeader(spkiDer, offset, Tag.SEQUENCE, contentLength);
  offset = matchBytes(spkiDer, offset, algorithm);
  offset = matchHeader(spkiDer, offset, Tag.BIT_STRING, bitStringLength);
  offset = offset >= 0 && spkiDer[offset] === 0 ? offset + 1 : -1;
  offset = matchBytes(spkiDer, offset, key);
  if (offset !== spkiDer.length) derError('the public key is not in its DER form');
  return spkiDer;
}

/** The offset after `bytes` when `der` holds them at `offset`; -1 otherwise (or when `offset` is already -1). */
function matchBytes(der: Uint8Array, offset: number, bytes: Uint8Array): number {
  if (offset < 0 || offset + bytes.length > der.length) return -1;
  for (let i = 0; i < bytes.length; i++) if (der[offset + i] !== bytes[i]) return -1;
  return offset + bytes.length;
}

/** As {@link matchBytes}, for the DER header of an element with `tag` and `length` bytes of content. */
function matchHeader(der: Uint8Array, offset: number, tag: number, length: number): number {
  if (offset < 0 || der[offset] !== tag) return -1;
  if (length < 0x80) return der[offset + 1] === length ? offset + 2 : -1;
  const count = headerLength(length) - 2;
  if (der[offset + 1] !== (0x80 | count)) return -1;
  for (let i = 0; i < count; i++) {
    if (der[offset + 2 + i] !== (length >>> (8 * (count - 1 - i))) % 256) return -1;
  }
  return offset + 2 + count;
}

/** The DER header size for `contentLength` (an SPKI's lengths are far under 2^32: they come from parsed input). */
function headerLength(contentLength: number): number {
  if (contentLength < 0x80) return 2;
  if (contentLength < 0x100) return 3;
  if (contentLength < 0x10000) return 4;
  return contentLength < 0x1000000 ? 5 : 6;
}

// Keyed by algorithm OID, then parameters OID ('' for none): the OID strings come from readOid's cache, so a lookup
// builds no string.
const algorithmCache = new Map<string, Map<string, Uint8Array>>();
let cachedAlgorithms = 0;

/** The AlgorithmIdentifier of a key certloop issues for, encoded once per kind. */
function canonicalAlgorithm(parts: SpkiParts): Uint8Array {
  const parameters = parts.parametersOid ?? '';
  const cached = algorithmCache.get(parts.algorithmOid)?.get(parameters);
  if (cached) return cached;
  let algorithm: Uint8Array;
  if (parts.algorithmOid === OID.rsaEncryption) algorithm = seq(oid(OID.rsaEncryption), nullValue());
  else if (parts.algorithmOid === OID.ecPublicKey && parts.parametersOid !== undefined) {
    algorithm = seq(oid(OID.ecPublicKey), oid(parts.parametersOid));
  } else if (parts.algorithmOid === OID.ed25519) algorithm = seq(oid(OID.ed25519));
  else return unsupported(parts.algorithmOid);
  // Only the few kinds above are ever cached (unknown curves are refused when the key is described).
  if (cachedAlgorithms < 16) {
    const byParameters = algorithmCache.get(parts.algorithmOid) ?? new Map<string, Uint8Array>();
    algorithmCache.set(parts.algorithmOid, byParameters);
    byParameters.set(parameters, algorithm);
    cachedAlgorithms++;
  }
  return algorithm;
}

/** Short Weierstrass curves y² = x³ − 3x + b over GF(p), for the point check below. */
const CURVES: Readonly<Record<'P-256' | 'P-384' | 'P-521', { p: bigint; b: bigint; size: number }>> = {
  'P-256': {
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    size: 32,
  },
  'P-384': {
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    size: 48,
  },
  'P-521': {
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    size: 66,
  },
};

const bigint = (bytes: Uint8Array): bigint =>
  bytes.length === 0
    ? 0n
    : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`);

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/**
 * Checks that an EC public key is a point on its curve (SEC 1 2.3.4), as OpenSSL does when it loads the key: a
 * certificate whose key cannot be loaded is refused here too (`CERTLOOP_INVALID_KEY`), never described as valid.
 * About ten microseconds for an uncompressed point (plain BigInt arithmetic, no key import).
 */
function checkEcPoint(point: Uint8Array, curve: 'P-256' | 'P-384' | 'P-521'): void {
  const { p, b, size } = CURVES[curve];
  const bad = () => {
    throw new CertloopError('CERTLOOP_INVALID_KEY', `the ${curve} public key is not a point on the curve`);
  };
  const x = bigint(point.subarray(1, 1 + size));
  const rhs = (x: bigint) => (((x * x) % p) * x - 3n * x + b) % p;
  if (point[0] === 4 && point.length === 1 + 2 * size) {
    const y = bigint(point.subarray(1 + size));
    if (x >= p || y >= p || (((y * y - rhs(x)) % p) + p) % p !== 0n) bad();
    return;
  }
  if ((point[0] === 2 || point[0] === 3) && point.length === 1 + size) {
    // Compressed: x³ − 3x + b must be a square mod p (Euler's criterion).
    const r = ((rhs(x) % p) + p) % p;
    if (x >= p || (r !== 0n && modPow(r, (p - 1n) / 2n, p) !== 1n)) bad();
    return;
  }
  bad();
}

function bitLength(magnitude: Uint8Array): number {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  if (i === magnitude.length) return 0;
  return (magnitude.length - i - 1) * 8 + (32 - Math.clz32(magnitude[i]!));
}

function unsupported(what: string): never {
  throw new CertloopError('CERTLOOP_UNSUPPORTED_ALGORITHM', `unsupported public key: ${what}`, {
    details: { algorithm: what },
  });
}

/**
 * Describes the key in a DER SubjectPublicKeyInfo. RSA, ECDSA on P-256/P-384/P-521 and Ed25519 are understood;
 * other algorithms and curves throw `CERTLOOP_UNSUPPORTED_ALGORITHM`, malformed input `CERTLOOP_INVALID_DER`, an
 * EC point off its curve `CERTLOOP_INVALID_KEY` (unless `checkPoint: false`, for callers that import the key
 * right after, which checks it anyway).
 */
export function describePublicKey(
  spki: Uint8Array | DerNode,
  options: { readonly checkPoint?: boolean } = {},
): PublicKeyInfo {
  return describeSpkiParts(readSpki(spki instanceof Uint8Array ? spki : derNodeArgument(spki, 'spki')), options);
}

// The descriptions that depend on nothing but the algorithm are shared (frozen), not made for every key.
const P256_INFO: PublicKeyInfo = Object.freeze({ type: 'ECDSA', size: 256, curve: 'P-256', algorithm: 'ECDSA-P256' });
const P384_INFO: PublicKeyInfo = Object.freeze({ type: 'ECDSA', size: 384, curve: 'P-384', algorithm: 'ECDSA-P384' });
const ED25519_INFO: PublicKeyInfo = Object.freeze({ type: 'Ed25519', size: 256, algorithm: 'Ed25519' });

/** Internal: {@link describePublicKey} of what {@link readSpki} already read. */
export function describeSpkiParts(parts: SpkiParts, options: { readonly checkPoint?: boolean } = {}): PublicKeyInfo {
  const checkPoint = options?.checkPoint ?? true;
  switch (parts.algorithmOid) {
    case OID.rsaEncryption: {
      const fields = children(expectTag(parseDer(parts.publicKeyBytes), Tag.SEQUENCE, 'RSAPublicKey'));
      if (fields.length !== 2) derError('RSAPublicKey must hold a modulus and an exponent');
      const modulus = readIntegerBytes(fields[0]!);
      const exponent = readIntegerBytes(fields[1]!);
      if (modulus[0]! & 0x80 || exponent[0]! & 0x80) derError('RSAPublicKey holds a negative integer', 'integer');
      const size = bitLength(modulus);
      const algorithm = RSA_ALGORITHMS[size];
      return { type: 'RSA', size, ...(algorithm ? { algorithm } : {}) };
    }
    case OID.ecPublicKey:
      if (parts.parametersOid === OID.prime256v1) {
        if (checkPoint) checkEcPoint(parts.publicKeyBytes, 'P-256');
        return P256_INFO;
      }
      if (parts.parametersOid === OID.secp384r1) {
        if (checkPoint) checkEcPoint(parts.publicKeyBytes, 'P-384');
        return P384_INFO;
      }
      if (parts.parametersOid === OID.secp521r1) {
        if (checkPoint) checkEcPoint(parts.publicKeyBytes, 'P-521');
        return { type: 'ECDSA', size: 521, curve: 'P-521' };
      }
      return unsupported(`EC curve ${parts.parametersOid ?? '(explicit parameters)'}`);
    case OID.ed25519:
      if (parts.publicKeyBytes.length !== 32) unsupported('Ed25519 key of the wrong length');
      return ED25519_INFO;
    default:
      return unsupported(parts.algorithmOid);
  }
}

/** The {@link PublicKeyInfo} a {@link KeyAlgorithm} produces. */
export function keyAlgorithmInfo(algorithm: KeyAlgorithm): PublicKeyInfo {
  switch (algorithm) {
    case 'ECDSA-P256':
      return { type: 'ECDSA', size: 256, curve: 'P-256', algorithm };
    case 'ECDSA-P384':
      return { type: 'ECDSA', size: 384, curve: 'P-384', algorithm };
    case 'Ed25519':
      return { type: 'Ed25519', size: 256, algorithm };
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return { type: 'RSA', size: Number(algorithm.slice(4)), algorithm };
    default:
      return unsupported(String(algorithm));
  }
}
