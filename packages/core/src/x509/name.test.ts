import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { oid, printableString, seq, setOf, utf8String } from './der.js';
import { decodeName, encodeName, isEmptyName } from './name.js';

describe('encodeName / decodeName', () => {
  it('round-trips every field, renders RFC 4514 text most specific first', () => {
    const dn = {
      commonName: 'agent-1',
      organization: 'certloop',
      organizationalUnit: 'relay',
      country: 'US',
      state: 'California',
      locality: 'San Francisco',
    };
    const decoded = decodeName(encodeName(dn));
    expect(decoded.dn).toEqual(dn);
    expect(decoded.text).toBe('CN=agent-1, OU=relay, O=certloop, L=San Francisco, ST=California, C=US');
  });

  it('escapes RFC 4514 specials and keeps non-ASCII text', () => {
    const decoded = decodeName(encodeName({ commonName: ' a,b+c"d\\e<f>g;h ', organization: 'Zürich #1' }));
    expect(decoded.text).toBe('CN=\\ a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\ , O=Zürich #1');
    expect(decoded.dn.commonName).toBe(' a,b+c"d\\e<f>g;h ');
    expect(decodeName(encodeName({ commonName: '#hash' })).text).toBe('CN=\\#hash');
  });

  it('encodes the empty name as an empty SEQUENCE', () => {
    const empty = encodeName({});
    expect(Buffer.from(empty).toString('hex')).toBe('3000');
    expect(isEmptyName(empty)).toBe(true);
    expect(decodeName(empty)).toMatchObject({ dn: {}, text: '' });
  });

  it('keeps unknown attributes as oid=#hex, multi-valued RDNs joined by + (in DER SET order), first value of a repeat in dn', () => {
    const name = seq(
      setOf(seq(oid('2.5.4.11'), utf8String('first'))),
      setOf(seq(oid('2.5.4.11'), utf8String('second'))),
      setOf(seq(oid('2.5.4.3'), utf8String('x')), seq(oid('1.2.3.4'), printableString('y'))),
    );
    const decoded = decodeName(name);
    expect(decoded.dn).toEqual({ organizationalUnit: 'first', commonName: 'x' });
    expect(decoded.text).toBe('1.2.3.4=#130179+CN=x, OU=second, OU=first');
    expect(decoded.der).toEqual(name);
  });

  it('refuses country codes that are not two letters and over-long values', () => {
    expect(() => encodeName({ country: 'USA' })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }),
    );
    expect(() => encodeName({ commonName: 'x'.repeat(65) })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }),
    );
  });

  it('refuses malformed DER with CERTLOOP_INVALID_DER', () => {
    expect(() => decodeName(new Uint8Array([0x30, 0x05, 0x31, 0x00]))).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_DER' }),
    );
    expect(() => decodeName(new Uint8Array([0x31, 0x00]))).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_DER' }),
    );
  });

  it('agrees with node:crypto on a certificate subject', async () => {
    const { createTestPki } = await import('../ca/test-support.js');
    const pki = await createTestPki('ECDSA-P256');
    const cert = new X509Certificate(pki.rootPem);
    expect(cert.subject).toBe('O=certloop\nCN=certloop test root ECDSA-P256');
  });
});
