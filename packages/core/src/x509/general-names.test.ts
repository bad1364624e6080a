import { describe, expect, it } from 'vitest';
import { oid, seq, tlv } from './der.js';
import {
  canonicalIpAddress,
  decodeGeneralNames,
  encodeGeneralNames,
  formatIpAddress,
  parseIpAddress,
} from './general-names.js';

describe('IP addresses', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ])('%s is written as %s (RFC 5952)', (input, canonical) => {
    expect(canonicalIpAddress(input)).toBe(canonical);
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'localhost', '1.2.3', '256.1.1.1', '1::2::3', 'fe80::1%eth0', '12345::']) {
      expect(parseIpAddress(bad)).toBeUndefined();
    }
    expect(() => formatIpAddress(new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_DER' }));
  });
});

describe('GeneralNames', () => {
  it('round-trips DNS, IP, URI and e-mail names', () => {
    const names = {
      dnsNames: ['a.example.test', '*.b.example.test'],
      ipAddresses: ['192.0.2.1', '2001:db8::7'],
      uris: ['spiffe://x/y'],
      emails: ['a@example.test'],
    };
    expect(decodeGeneralNames(encodeGeneralNames(names))).toEqual({ ...names, otherCount: 0 });
  });

  it('counts and skips names of other kinds', () => {
    const otherName = tlv(0xa0, oid('1.2.3'), tlv(0xa0, tlv(0x0c, new Uint8Array([0x61]))));
    const directoryName = tlv(0xa4, seq());
    const decoded = decodeGeneralNames(seq(otherName, tlv(0x82, new TextEncoder().encode('x.test')), directoryName));
    expect(decoded).toEqual({ dnsNames: ['x.test'], ipAddresses: [], uris: [], emails: [], otherCount: 2 });
  });

  it('refuses non-ASCII or empty names and bad IPs when encoding', () => {
    for (const names of [{ dnsNames: ['bücher.test'] }, { dnsNames: [''] }, { ipAddresses: ['1.2.3.4.5'] }]) {
      expect(() => encodeGeneralNames(names)).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }));
    }
  });
});
