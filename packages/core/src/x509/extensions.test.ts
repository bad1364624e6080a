import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitString, booleanTrue, contextTag, octetString, oid, seq, smallInteger, tlv } from './der.js';
import {
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeExtensions,
  decodeExtKeyUsage,
  decodeKeyUsage,
  decodeSubjectKeyIdentifier,
  UNDERSTOOD_EXTENSIONS,
} from './extensions.js';
import {
  authorityKeyIdentifierValue,
  basicConstraintsValue,
  extKeyUsageValue,
  keyUsageValue,
  subjectAltNameValue,
  subjectKeyIdentifierValue,
} from './extensions-writer.js';
import { OID } from './oids.js';
import { KEY_USAGE_BITS, type KeyUsageName } from './types.js';

const invalidDer = expect.objectContaining({ code: 'CERTLOOP_INVALID_DER' });
const bytes = (...values: number[]) => new Uint8Array(values);

describe('extension decoders read what the issuance side writes', () => {
  it('basicConstraints: CA with and without pathLen, and end entities', () => {
    expect(decodeBasicConstraints(basicConstraintsValue(true, 0))).toEqual({ ca: true, pathLength: 0 });
    expect(decodeBasicConstraints(basicConstraintsValue(true, 3))).toEqual({ ca: true, pathLength: 3 });
    expect(decodeBasicConstraints(basicConstraintsValue(true))).toEqual({ ca: true });
    expect(decodeBasicConstraints(basicConstraintsValue(false))).toEqual({ ca: false });
    // A pathLen on a non-CA means nothing (RFC 5280 4.2.1.9) and is dropped.
    expect(decodeBasicConstraints(seq(smallInteger(2)))).toEqual({ ca: false });
  });

  it('keyUsage: any subset of the nine bits survives the minimal encoding', () => {
    fc.assert(
      fc.property(fc.subarray([...KEY_USAGE_BITS]), (usages: KeyUsageName[]) => {
        const expected = KEY_USAGE_BITS.filter((u) => usages.includes(u));
        expect(decodeKeyUsage(keyUsageValue(usages))).toEqual(expected);
      }),
    );
  });

  it('keyUsage: padding bits must be zero (DER), a clean one-bit string reads', () => {
    // 0xff with 7 unused bits: the seven padding bits are set, which BER allows and DER does not.
    expect(() => decodeKeyUsage(bitString(bytes(0xff), 7))).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_DER', details: { reason: 'bit-string' } }),
    );
    expect(decodeKeyUsage(bitString(bytes(0x80), 7))).toEqual(['digitalSignature']);
  });

  it('extKeyUsage: known names, anyExtendedKeyUsage, and unknown OIDs as dotted text', () => {
    const value = extKeyUsageValue(['serverAuth', 'clientAuth', OID.anyExtendedKeyUsage, '1.3.6.1.5.5.7.3.9', '1.2.3']);
    expect(decodeExtKeyUsage(value)).toEqual([
      'serverAuth',
      'clientAuth',
      'anyExtendedKeyUsage',
      'OCSPSigning',
      '1.2.3',
    ]);
  });

  it('key identifiers as lower-case hex; an AKI without keyIdentifier has none', () => {
    const id = bytes(0xde, 0xad, 0xbe, 0xef);
    expect(decodeSubjectKeyIdentifier(subjectKeyIdentifierValue(id))).toBe('deadbeef');
    expect(decodeAuthorityKeyIdentifier(authorityKeyIdentifierValue(id))).toBe('deadbeef');
    // authorityCertIssuer is [1] IMPLICIT GeneralNames: here one directoryName [4] holding an empty Name.
    const issuerAndSerial = seq(contextTag(1, true, contextTag(4, true, seq())), tlv(0x82, bytes(1)));
    expect(decodeAuthorityKeyIdentifier(issuerAndSerial)).toBeUndefined();
    // Out of order, repeated, or holding anything else: malformed (OpenSSL refuses such a certificate).
    for (const bad of [
      seq(tlv(0x82, bytes(1)), tlv(0x80, id)),
      seq(tlv(0x80, id), tlv(0x80, id)),
      seq(tlv(0x80, id), tlv(0x01, bytes(0))),
      seq(contextTag(1, true, seq())),
    ]) {
      expect(() => decodeAuthorityKeyIdentifier(bad)).toThrow(
        expect.objectContaining({ code: 'CERTLOOP_INVALID_DER' }),
      );
    }
  });

  it('decodeExtensions gathers everything and lists unknown critical extensions only', () => {
    const decoded = decodeExtensions([
      { oid: OID.basicConstraints, critical: true, value: basicConstraintsValue(true, 1) },
      { oid: OID.keyUsage, critical: true, value: keyUsageValue(['keyCertSign']) },
      {
        oid: OID.subjectAltName,
        critical: false,
        value: subjectAltNameValue({ dnsNames: ['a.example'], ipAddresses: ['::1'] }),
      },
      { oid: OID.crlDistributionPoints, critical: false, value: seq() },
      { oid: OID.nameConstraints, critical: true, value: seq() },
      { oid: '1.3.6.1.4.1.99999.1', critical: true, value: bytes(0x05, 0x00) },
    ]);
    expect(decoded).toEqual({
      basicConstraints: { ca: true, pathLength: 1 },
      keyUsage: ['keyCertSign'],
      subjectAltNames: { dnsNames: ['a.example'], ipAddresses: ['::1'], uris: [], emails: [] },
      unknownCritical: ['1.3.6.1.4.1.99999.1'],
    });
    // path validation enforces nameConstraints itself (name-constraints.ts)
    expect(UNDERSTOOD_EXTENSIONS.has(OID.nameConstraints)).toBe(true);
  });
});

describe('malformed extension values → CERTLOOP_INVALID_DER', () => {
  it.each([
    ['basicConstraints that is not a SEQUENCE', () => decodeBasicConstraints(booleanTrue())],
    [
      'basicConstraints with a trailing field',
      () => decodeBasicConstraints(seq(booleanTrue(), smallInteger(1), oid('1.2'))),
    ],
    [
      'basicConstraints with a negative pathLen',
      () => decodeBasicConstraints(seq(booleanTrue(), tlv(0x02, bytes(0xff)))),
    ],
    ['keyUsage that is not a BIT STRING', () => decodeKeyUsage(octetString(bytes(0x80)))],
    ['an empty extKeyUsage', () => decodeExtKeyUsage(seq())],
    ['extKeyUsage holding a non-OID', () => decodeExtKeyUsage(seq(smallInteger(1)))],
    ['a subjectKeyIdentifier that is not an OCTET STRING', () => decodeSubjectKeyIdentifier(seq())],
    ['an AKI with an unknown field', () => decodeAuthorityKeyIdentifier(seq(tlv(0x83, bytes(1))))],
    ['a value with trailing bytes', () => decodeSubjectKeyIdentifier(bytes(0x04, 0x01, 0xaa, 0x00))],
  ])('%s', (_name, decode) => {
    expect(decode).toThrowError(invalidDer);
  });
});
