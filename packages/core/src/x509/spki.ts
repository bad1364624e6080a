/**
 * `@certloop/core` SubjectPublicKeyInfo: what kind of key a DER SPKI holds (family, size, curve).
 *
 * Pure DER reading, no crypto: used on certificates, CSRs and keys alike before any key is imported.
 */
import { CertloopError } from '../errors.js';
import { children, type DerNode, expectTag, parseDer, readBitString, readIntegerBytes, readOid, Tag } from './der.js';
import { OID } from './oids.js';
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

/** Splits an SPKI into its algorithm and key bits. Throws `CERTLOOP_INVALID_DER` when malformed. */
export function readSpki(spki: Uint8Array | DerNode): SpkiParts {
  const node = spki instanceof Uint8Array ? parseDer(spki) : spki;
  const [algorithm, key] = children(expectTag(node, Tag.SEQUENCE, 'SubjectPublicKeyInfo'));
  const [algorithmOid, parameters] = children(expectTag(algorithm, Tag.SEQUENCE, 'AlgorithmIdentifier'));
  const bits = readBitString(expectTag(key, Tag.BIT_STRING, 'subjectPublicKey'));
  return {
    algorithmOid: readOid(algorithmOid!),
    ...(parameters?.tag === Tag.OID ? { parametersOid: readOid(parameters) } : {}),
    publicKeyBytes: bits.bytes,
  };
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
 * other algorithms and curves throw `CERTLOOP_UNSUPPORTED_ALGORITHM`, malformed input `CERTLOOP_INVALID_DER`.
 */
export function describePublicKey(spki: Uint8Array | DerNode): PublicKeyInfo {
  const parts = readSpki(spki);
  switch (parts.algorithmOid) {
    case OID.rsaEncryption: {
      const [modulus] = children(expectTag(parseDer(parts.publicKeyBytes), Tag.SEQUENCE, 'RSAPublicKey'));
      const size = bitLength(readIntegerBytes(modulus!));
      const algorithm = RSA_ALGORITHMS[size];
      return { type: 'RSA', size, ...(algorithm ? { algorithm } : {}) };
    }
    case OID.ecPublicKey:
      if (parts.parametersOid === OID.prime256v1) {
        return { type: 'ECDSA', size: 256, curve: 'P-256', algorithm: 'ECDSA-P256' };
      }
      if (parts.parametersOid === OID.secp384r1) {
        return { type: 'ECDSA', size: 384, curve: 'P-384', algorithm: 'ECDSA-P384' };
      }
      if (parts.parametersOid === OID.secp521r1) return { type: 'ECDSA', size: 521, curve: 'P-521' };
      return unsupported(`EC curve ${parts.parametersOid ?? '(explicit parameters)'}`);
    case OID.ed25519:
      if (parts.publicKeyBytes.length !== 32) unsupported('Ed25519 key of the wrong length');
      return { type: 'Ed25519', size: 256, algorithm: 'Ed25519' };
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
