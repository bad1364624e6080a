/**
 * Internal (`@certloop/core` x509): DER writers for the extensions certloop puts in certificates and CSRs.
 */
import { bitString, booleanTrue, contextTag, octetString, oid, seq, smallInteger } from './der.js';
import { encodeGeneralNames } from './general-names.js';
import { OID } from './oids.js';
import { sha1 } from './sha1.js';
import { readSpki } from './spki.js';
import { KEY_USAGE_BITS, type KeyUsageName, type SubjectAltNames } from './types.js';

/** One Extension: `SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING }`. */
export function extension(extnId: string, critical: boolean, valueDer: Uint8Array): Uint8Array {
  return critical ? seq(oid(extnId), booleanTrue(), octetString(valueDer)) : seq(oid(extnId), octetString(valueDer));
}

export function basicConstraintsValue(ca: boolean, pathLength?: number): Uint8Array {
  if (!ca) return seq();
  return pathLength === undefined ? seq(booleanTrue()) : seq(booleanTrue(), smallInteger(pathLength));
}

/** A named BIT STRING, DER-minimal (trailing zero bits dropped, RFC 5280 / X.690 11.2.2). */
export function keyUsageValue(usages: readonly KeyUsageName[]): Uint8Array {
  let highest = -1;
  const bytes = new Uint8Array(2);
  for (const usage of usages) {
    const bit = KEY_USAGE_BITS.indexOf(usage);
    if (bit < 0) continue;
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
    highest = Math.max(highest, bit);
  }
  if (highest < 0) return bitString(new Uint8Array(0));
  const length = (highest >> 3) + 1;
  return bitString(bytes.subarray(0, length), 7 - (highest & 7));
}

const EKU_OIDS: Readonly<Record<string, string>> = { serverAuth: OID.serverAuth, clientAuth: OID.clientAuth };

/** ExtKeyUsageSyntax from names (`serverAuth`, `clientAuth`) or dotted OIDs. */
export function extKeyUsageValue(usages: readonly string[]): Uint8Array {
  return seq(...usages.map((u) => oid(EKU_OIDS[u] ?? u)));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifier(spkiDer: Uint8Array): Uint8Array {
  return keyIdentifierOfKey(readSpki(spkiDer).publicKeyBytes);
}

/** Internal: {@link keyIdentifier} from the subjectPublicKey bytes (already read). */
export function keyIdentifierOfKey(publicKeyBytes: Uint8Array): Uint8Array {
  // SHA-1 in JavaScript: on the issuance path (once per certificate) node:crypto's costs several times more (sha1.ts).
  return sha1(publicKeyBytes);
}

export const subjectKeyIdentifierValue = (keyId: Uint8Array): Uint8Array => octetString(keyId);

/** AuthorityKeyIdentifier with the keyIdentifier field only (`[0] IMPLICIT OCTET STRING`). */
export const authorityKeyIdentifierValue = (keyId: Uint8Array): Uint8Array => seq(contextTag(0, false, keyId));

export const subjectAltNameValue = (names: Partial<SubjectAltNames>): Uint8Array => encodeGeneralNames(names);
