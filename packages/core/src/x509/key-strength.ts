/**
 * Internal (`@certloop/core` x509): key-size floors for path validation. RSA below a floor (2048 bits by default,
 * configurable upwards only) and EC keys on anything but the named curves P-256, P-384 and P-521 (explicit curve
 * parameters included) are refused, as OpenSSL's security level 2 and the CA/Browser Forum do.
 */
import { CertloopError } from '../errors.js';
import { OID } from './oids.js';
import { describePublicKey, readSpki } from './spki.js';
import type { PublicKeyInfo } from './types.js';

/** The smallest RSA modulus certloop accepts anywhere, and the default floor. */
export const MIN_RSA_BITS = 2048;

const NAMED_CURVES: ReadonlySet<string> = new Set([OID.prime256v1, OID.secp384r1, OID.secp521r1]);

/** Checks a floor given by a caller: a whole number of bits, not below {@link MIN_RSA_BITS}. */
export function checkRsaFloor(bits: number | undefined, what = 'minRsaBits'): number {
  const floor = bits ?? MIN_RSA_BITS;
  if (!Number.isSafeInteger(floor) || floor < MIN_RSA_BITS) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', `${what} must be an integer of at least ${MIN_RSA_BITS}`, {
      details: { [what]: bits },
    });
  }
  return floor;
}

/** Why a key is too weak, or undefined when it is strong enough. Other key kinds are left to the importer. */
export function keyWeakness(spkiDer: Uint8Array, minRsaBits: number): Record<string, unknown> | undefined {
  const parts = readSpki(spkiDer);
  if (parts.algorithmOid === OID.ecPublicKey) {
    if (parts.parametersOid === undefined) return { reason: 'explicit-curve-parameters' };
    if (!NAMED_CURVES.has(parts.parametersOid)) return { reason: 'curve', curve: parts.parametersOid };
    return undefined;
  }
  if (parts.algorithmOid === OID.rsaEncryption) {
    const info: PublicKeyInfo = describePublicKey(spkiDer);
    if (info.size < minRsaBits) return { reason: 'rsa-size', size: info.size, minRsaBits };
  }
  return undefined;
}
