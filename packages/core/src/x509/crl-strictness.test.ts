/**
 * The CRL reader is as strict as the certificate reader (issue 14, item 4): each class of fault the certificate
 * regression tests cover (der-strictness.test.ts) is refused in a CRL too, with `CERTLOOP_CRL_INVALID` (its cause
 * the `CERTLOOP_INVALID_DER` with `details.reason`), inside and outside the signed part; every mutated CRL is signed
 * again, so what is judged is the reader. What certloop accepts, OpenSSL's decoder and pkijs read alike.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertloopError } from '../errors.js';
import { parseCrl } from './crl.js';
import {
  C,
  type CrlFixture,
  certloopCrlFields,
  crlFixture,
  opensslCrlFields,
  pkijsCrlFields,
  resignedCrl,
} from './fuzz/crl-fixtures.js';
import { type EditNode, encodeTree } from './fuzz/der-edit.js';
import { ascii, bytes } from './fuzz/fixtures.js';
import { signWrapped } from './fuzz/resign.js';

let crl: CrlFixture;

beforeAll(async () => {
  crl = await crlFixture();
});

/** The CertloopError parseCrl throws, or undefined when it accepts. */
function refusal(der: Uint8Array): CertloopError | undefined {
  try {
    parseCrl(der);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    return err as CertloopError;
  }
}

const reasonOf = (err: CertloopError | undefined) =>
  ((err?.cause as CertloopError | undefined)?.details as { reason?: string } | undefined)?.reason;

/** Whether `openssl crl` decodes the CRL (exit status 0). */
function opensslReads(der: Uint8Array): boolean {
  try {
    execFileSync('/usr/bin/openssl', ['crl', '-inform', 'DER', '-noout'], { input: der, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const crlExtensions = (tbs: EditNode) => tbs.children![C.extensions]!.children![0]!;
/** The INTEGER inside the fixture's cRLNumber extension (after the AKI). */
const crlNumberValue = (tbs: EditNode): EditNode => {
  const octets = crlExtensions(tbs).children![1]!.children!.at(-1)!;
  const integer: EditNode = { tag: 0x02, content: octets.content!.subarray(2) };
  Object.assign(octets, { content: undefined, children: [integer] });
  return integer;
};
const entry = (tbs: EditNode, i: number) => tbs.children![C.revoked]!.children![i]!;
const unknownExtension = (value: EditNode, critical = false): EditNode => ({
  tag: 0x30,
  children: [
    { tag: 0x06, content: bytes(0x2a, 0x03, 0x04) },
    ...(critical ? [{ tag: 0x01, content: bytes(0xff) }] : []),
    { tag: 0x04, children: [value] },
  ],
});

describe('the unmutated CRL', () => {
  it('is read alike by certloop, OpenSSL and pkijs', () => {
    const der = resignedCrl(crl, () => {});
    const ours = certloopCrlFields(parseCrl(der));
    expect(ours.revoked).toEqual(['0a1b', '7f']);
    expect(opensslCrlFields(der)).toEqual(ours);
    expect(pkijsCrlFields(der)).toEqual(ours);
  });
});

describe('BER where DER is required, inside and outside the signed part', () => {
  it.each<[string, (tbs: EditNode) => void, string | undefined]>([
    [
      'a long-form length with a leading zero (issuer)',
      (tbs) => {
        const issuer = tbs.children![C.issuer]!;
        issuer.lengthOverride = bytes(0x82, 0x00, encodeTree(issuer).length - 2);
      },
      'length',
    ],
    [
      'an indefinite length (revokedCertificates)',
      (tbs) => Object.assign(tbs.children![C.revoked]!, { lengthOverride: bytes(0x80), trailer: bytes(0, 0) }),
      'indefinite-length',
    ],
    ['version v1 written out', (tbs) => Object.assign(tbs.children![C.version]!, { content: bytes(0x00) }), undefined],
    [
      'an INTEGER version padded',
      (tbs) => Object.assign(tbs.children![C.version]!, { content: bytes(0x00, 0x01) }),
      'integer',
    ],
    [
      'critical FALSE written out',
      (tbs) =>
        crlExtensions(tbs).children!.push(unknownExtension({ tag: 0x05, content: bytes() })) &&
        crlExtensions(tbs)
          .children!.at(-1)!
          .children!.splice(1, 0, { tag: 0x01, content: bytes(0x00) }),
      'default-encoded',
    ],
    [
      'a BOOLEAN of 0x01',
      (tbs) =>
        crlExtensions(tbs).children!.push({
          ...unknownExtension({ tag: 0x05, content: bytes() }),
          children: [
            { tag: 0x06, content: bytes(0x2a, 0x03, 0x04) },
            { tag: 0x01, content: bytes(0x01) },
            { tag: 0x04, children: [{ tag: 0x05, content: bytes() }] },
          ],
        }),
      'boolean',
    ],
    [
      'a long form inside an extension value certloop does not read',
      (tbs) =>
        crlExtensions(tbs).children!.push(
          unknownExtension({ tag: 0x30, lengthOverride: bytes(0x81, 3), children: [{ tag: 0x02, content: bytes(5) }] }),
        ),
      'length',
    ],
    [
      'trailing bytes inside an extension value',
      (tbs) => {
        const ext = unknownExtension({ tag: 0x05, content: bytes() });
        ext.children!.at(-1)!.trailer = bytes(0x05, 0x00);
        crlExtensions(tbs).children!.push(ext);
      },
      'trailing-data',
    ],
    [
      'a padded INTEGER inside an entry extension certloop does not read',
      (tbs) => {
        entry(tbs, 1).children!.push({
          tag: 0x30,
          children: [unknownExtension({ tag: 0x02, content: bytes(0x00, 0x05) })],
        });
      },
      'integer',
    ],
    [
      'a GeneralizedTime that is no time inside an extension value certloop does not read (found by the fuzzer)',
      (tbs) => crlExtensions(tbs).children!.push(unknownExtension({ tag: 0x18, content: ascii('U') })),
      'time',
    ],
    [
      'a GeneralizedTime with a trailing zero in its fraction inside an extension value',
      (tbs) => crlExtensions(tbs).children!.push(unknownExtension({ tag: 0x18, content: ascii('20250101000000.10Z') })),
      'time',
    ],
    [
      'a UTCTime of 30 February inside an extension value',
      (tbs) => crlExtensions(tbs).children!.push(unknownExtension({ tag: 0x17, content: ascii('250230000000Z') })),
      'time',
    ],
    [
      'a padded CRLReason',
      (tbs) =>
        Object.assign(entry(tbs, 0).children![2]!.children![0]!.children![1]!, {
          children: undefined,
          content: bytes(0x0a, 0x02, 0x00, 0x01),
        }),
      undefined,
    ],
  ])('refuses %s', (_name, edit, reason) => {
    const err = refusal(resignedCrl(crl, edit));
    expect(err?.code).toBe('CERTLOOP_CRL_INVALID');
    if (reason) expect(reasonOf(err)).toBe(reason);
  });

  it('reads a CRLNumber of 20 octets and a GeneralizedTime with a fraction in a value it does not read, as OpenSSL does', () => {
    const der = resignedCrl(crl, (tbs) => {
      Object.assign(crlNumberValue(tbs), { content: bytes(0x7f, ...new Array(19).fill(0xff)) });
      crlExtensions(tbs).children!.push(unknownExtension({ tag: 0x18, content: ascii('20250101000000.5Z') }));
    });
    const parsed = parseCrl(der);
    expect(parsed.crlNumber).toBe(`7f${'ff'.repeat(19)}`);
    expect(opensslCrlFields(der)).toEqual(certloopCrlFields(parsed));
  });

  it('refuses a long form for the outer length (outside the signed part) and trailing bytes after the CRL', () => {
    const der = resignedCrl(crl, () => {});
    expect(der[1]).toBe(0x82);
    const longForm = new Uint8Array([0x30, 0x83, 0x00, ...der.subarray(2)]);
    expect(reasonOf(refusal(longForm))).toBe('length');
    // OpenSSL's decoder takes this BER length (it does for certificates too); certloop refuses both alike
    expect(opensslReads(longForm)).toBe(true);
    expect(reasonOf(refusal(new Uint8Array([...der, 0])))).toBe('trailing-data');
  });
});

describe('structures decoded as strictly as a certificate', () => {
  it.each<[string, (tbs: EditNode) => void]>([
    [
      'an issuer Name attribute holding an INTEGER',
      (tbs) =>
        Object.assign(tbs.children![C.issuer]!.children![0]!.children![0]!.children![1]!, {
          tag: 0x02,
          content: bytes(1),
        }),
    ],
    [
      'an issuer Name attribute with an extra element',
      (tbs) => tbs.children![C.issuer]!.children![0]!.children![0]!.children!.push({ tag: 0x0c, content: ascii('x') }),
    ],
    [
      'an issuer CN in invalid UTF-8',
      (tbs) =>
        Object.assign(tbs.children![C.issuer]!.children![0]!.children![0]!.children![1]!, {
          content: bytes(0x61, 0xc3, 0x28),
        }),
    ],
    [
      'an issuer CN in a VisibleString',
      (tbs) => Object.assign(tbs.children![C.issuer]!.children![0]!.children![0]!.children![1]!, { tag: 0x1a }),
    ],
    ['an empty RDN in the issuer', (tbs) => tbs.children![C.issuer]!.children!.push({ tag: 0x31, children: [] })],
    [
      'a duplicate CRL extension',
      (tbs) => crlExtensions(tbs).children!.push(structuredClone(crlExtensions(tbs).children![1]!)),
    ],
    ['an empty crlExtensions', (tbs) => crlExtensions(tbs).children!.splice(0)],
    [
      'an AKI with an unknown field',
      (tbs) =>
        crlExtensions(tbs).children![0]!.children![1]!.children![0]!.children!.push({ tag: 0x83, content: bytes(1) }),
    ],
    [
      'a negative CRLNumber (OpenSSL reads -119 where a sign-blind reader reads 137; found by the fuzzer)',
      (tbs) => Object.assign(crlNumberValue(tbs), { content: bytes(0x89) }),
    ],
    [
      'a CRLNumber of 21 octets (RFC 5280 5.2.3: at most 20)',
      (tbs) => Object.assign(crlNumberValue(tbs), { content: bytes(0x01, ...new Array(20).fill(0)) }),
    ],
    [
      'a revokedCertificate with an extra element',
      (tbs) => entry(tbs, 1).children!.push({ tag: 0x30, children: [] }, { tag: 0x05, content: bytes() }),
    ],
  ])('refuses %s', (_name, edit) => {
    expect(refusal(resignedCrl(crl, edit))?.code).toBe('CERTLOOP_CRL_INVALID');
  });

  it('refuses an AlgorithmIdentifier with an extra element, inner and outer alike', () => {
    const extra = (tbs: EditNode) => {
      tbs.children![C.signature]!.children!.push({ tag: 0x05, content: bytes() }, { tag: 0x05, content: bytes() });
    };
    const copy = structuredClone(crl.signed);
    extra(copy);
    const outer = encodeTree(copy.children![C.signature]!);
    const der = signWrapped(encodeTree(copy), crl.keyPem, outer);
    expect(refusal(der)?.code).toBe('CERTLOOP_CRL_INVALID');
    expect(opensslReads(der)).toBe(false);
  });
});
