/**
 * Internal (`@certloop/core` x509): ECDSA signature forms. X.509 carries `Ecdsa-Sig-Value ::= SEQUENCE { r, s }`
 * in DER; WebCrypto speaks IEEE P1363 (`r || s`, each padded to the curve size).
 */
import { children, expectTag, parseDer, readIntegerBytes, seq, Tag, unsignedInteger } from './der.js';

/** P1363 `r || s` to DER. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/** DER to P1363 with each half `size` bytes; undefined when the DER is malformed or a value does not fit. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  try {
    const parts = children(expectTag(parseDer(der), Tag.SEQUENCE, 'Ecdsa-Sig-Value'));
    if (parts.length !== 2) return undefined;
    const out = new Uint8Array(size * 2);
    for (let i = 0; i < 2; i++) {
      let value = readIntegerBytes(parts[i]!);
      if (value[0]! & 0x80) return undefined;
      while (value.length > 1 && value[0] === 0) value = value.subarray(1);
      if (value.length > size) return undefined;
      out.set(value, size * (i + 1) - value.length);
    }
    return out;
  } catch {
    return undefined;
  }
}
