import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64Body,
  joinPemBundle,
  PEM_LIMITS,
  pemDecode,
  pemEncode,
  pemSplit,
  splitCertificates,
  splitPemBundle,
} from './pem.js';

const code = (c: string) => expect.objectContaining({ code: c });

// A real certificate (openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj /CN=pem-fixture).
const CERT = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUc7zGdBx4qbrSVejpSgv5HYIw38EwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcGVtLWZpeHR1cmUwHhcNMjYxMTI4MDM1MjE0WhcNMzYxMTI1
MDM1MjE0WjAWMRQwEgYDVQQDDAtwZW0tZml4dHVyZTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABPZarr97ajnVryGN46SqGQHGKsBnp9rmstIIi+lx1DmCU/fW1L0q
Q4UbZthkmtoNbTsBl1Opxo66Btg2Vz4k6IyjUzBRMB0GA1UdDgQWBBRjv1dF6TOk
d6oz8LPY/PiCXnjgFzAfBgNVHSMEGDAWgBRjv1dF6TOkd6oz8LPY/PiCXnjgFzAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCmSIFQB+eFPfiRL4o+
ATlQuPa83bojjkfilgsTNQO+ywIhANGo9UeEyab7EbhbnTWGKFVO3LsT6k18huVD
vijeRc31
-----END CERTIFICATE-----
`;

describe('PEM encode and decode', () => {
  it('round trips bytes of every length through one block, 64-column lines', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), (der) => {
        const pem = pemEncode('TEST DATA', der);
        expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
        const block = pemDecode(pem);
        expect(block.label).toBe('TEST DATA');
        expect(block.der).toEqual(der);
      }),
      { numRuns: 200 },
    );
  });

  it('re-encoding a real certificate gives back the same text, readable by Node', () => {
    const block = pemDecode(CERT, ['CERTIFICATE']);
    expect(pemEncode('CERTIFICATE', block.der)).toBe(CERT);
    expect(new X509Certificate(block.der).subject).toBe('CN=pem-fixture');
  });

  it('accepts CRLF line endings and text around the block, as openssl does', () => {
    const noisy = `subject=CN = pem-fixture\r\n${CERT.replace(/\n/g, '\r\n')}\r\ntrailing words\r\n`;
    expect(pemDecode(noisy, ['CERTIFICATE']).der).toEqual(pemDecode(CERT).der);
  });

  it('splits and joins bundles', () => {
    const bundle = joinPemBundle([CERT, '', `  ${CERT.trim()}  `]);
    expect(bundle).toBe(`${CERT}${CERT}`);
    expect(splitCertificates(bundle)).toHaveLength(2);
    expect(splitPemBundle(bundle)).toEqual([CERT, CERT]);
    expect(pemSplit(bundle).map((b) => b.label)).toEqual(['CERTIFICATE', 'CERTIFICATE']);
  });
});

describe('malformed PEM is refused with a typed code', () => {
  it.each([
    ['garbage', 'not a pem at all'],
    ['an empty string', ''],
    ['a truncated block (no END line)', CERT.slice(0, CERT.indexOf('-----END'))],
    ['mismatched BEGIN and END labels', CERT.replace('END CERTIFICATE', 'END PRIVATE KEY')],
    ['bad base64 characters', CERT.replace('MIIBgjCC', 'MIIB*jCC')],
    ['base64 of the wrong length', CERT.replace('vijeRc31', 'vijeRc3')],
    ['an empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'],
  ])('%s → CERTLOOP_INVALID_PEM', (_name, text) => {
    expect(() => pemSplit(text)).toThrowError(code('CERTLOOP_INVALID_PEM'));
  });

  it('a non-string input → CERTLOOP_INVALID_PEM', () => {
    expect(() => pemSplit(42 as unknown as string)).toThrowError(code('CERTLOOP_INVALID_PEM'));
  });

  it('the wrong label → CERTLOOP_INVALID_PEM', () => {
    const key = pemEncode('PRIVATE KEY', new Uint8Array([1, 2, 3]));
    expect(() => pemDecode(key, ['CERTIFICATE'])).toThrowError(code('CERTLOOP_INVALID_PEM'));
    expect(() => splitCertificates(`${CERT}${key}`)).toThrowError(code('CERTLOOP_INVALID_PEM'));
  });

  it('too many blocks → CERTLOOP_INPUT_TOO_LARGE, before any block is decoded', () => {
    const many = CERT.repeat(PEM_LIMITS.maxBlocks + 1);
    expect(() => splitCertificates(many)).toThrowError(code('CERTLOOP_INPUT_TOO_LARGE'));
    expect(splitCertificates(CERT.repeat(PEM_LIMITS.maxBlocks))).toHaveLength(PEM_LIMITS.maxBlocks);
    expect(() => splitCertificates(CERT.repeat(3), { maxBlocks: 2 })).toThrowError(code('CERTLOOP_INPUT_TOO_LARGE'));
  });

  it('oversize input → CERTLOOP_INPUT_TOO_LARGE without scanning it', () => {
    const huge = `${CERT}${' '.repeat(PEM_LIMITS.maxBytes)}`;
    expect(() => pemSplit(huge)).toThrowError(code('CERTLOOP_INPUT_TOO_LARGE'));
    expect(() => pemSplit(CERT, { maxBytes: 100 })).toThrowError(code('CERTLOOP_INPUT_TOO_LARGE'));
  });
});

describe('decodeBase64Body (certloop decodes base64 itself, issue 16)', () => {
  it('gives the bytes Node gives, for any length and any white space between characters', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        fc.array(fc.constantFrom(' ', '\n', '\r\n', '\t'), { maxLength: 40 }),
        fc.nat(),
        (bytes, spaces, seed) => {
          let text = Buffer.from(bytes).toString('base64');
          for (const [i, space] of spaces.entries()) {
            const at = (seed + i * 7919) % (text.length + 1);
            text = text.slice(0, at) + space + text.slice(at);
          }
          const der = decodeBase64Body(`x${text}y`, 1, text.length + 1);
          expect(der && Buffer.from(der).equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses what is not canonical base64', () => {
    for (const text of [
      '',
      'QQ',
      'QQ=',
      'Q===',
      'QQ==QQ==',
      'QU*B',
      'QUJD\u00e9',
      '====',
      'QQ=A',
      'QUJ\u0141',
      'QU\u0100B',
    ]) {
      expect(decodeBase64Body(text, 0, text.length)).toBeUndefined();
    }
  });

  it('takes padding followed by white space, and a quantum broken by a line break', () => {
    expect(Buffer.from(decodeBase64Body('QQ==\n', 0, 5)!).toString()).toBe('A');
    expect(Buffer.from(decodeBase64Body('QU\nJD\r\nRA==', 0, 11)!).toString()).toBe('ABCD');
  });
});
