/**
 * Regression tests for what a structure-aware fuzzer found in the DER reader (issue 8): each class is refused with
 * `CERTLOOP_INVALID_DER` and its `details.reason`, or read as OpenSSL reads it. Every mutated certificate is signed
 * again, so what is judged is the parser, not a broken signature.
 */
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateChain } from './chain.js';
import { parseCsr, verifyCsr } from './csr.js';
import { type EditNode, encodeTree } from './fuzz/der-edit.js';
import {
  addExtension,
  ascii,
  bytes,
  certificatePem,
  csrFixture,
  csrPem,
  extension,
  extensionValue,
  F,
  inspect,
  OIDS,
  refused,
  resigned,
  type SignedFixture,
  same,
  selfSignedFixture,
  subjectCn,
} from './fuzz/fixtures.js';
import { signWrapped } from './fuzz/resign.js';

const tbsSubject = (fixture: SignedFixture): EditNode => structuredClone(fixture.signed.children![F.subject]!);

/** The fixture signed again with a subjectAltName extension holding `names` (GeneralName nodes) appended. */
const withSans = (fixture: SignedFixture, names: EditNode[]): Uint8Array =>
  resigned(fixture, (tbs) => {
    addExtension(tbs, {
      tag: 0x30,
      children: [
        { tag: 0x06, content: bytes(0x55, 0x1d, 0x11) },
        { tag: 0x04, children: [{ tag: 0x30, children: names }] },
      ],
    });
  });

let root: SignedFixture;
let csr: SignedFixture;

beforeAll(async () => {
  [root, csr] = await Promise.all([selfSignedFixture(), csrFixture()]);
});

describe('the unmutated fixtures are accepted (so every refusal below is the mutation)', () => {
  it('reads the re-signed certificate and CSR', async () => {
    const der = resigned(root, () => {});
    expect(inspect(der).subject.commonName).toBe('fuzz root');
    await validateChain({ leafPem: certificatePem(der), trustBundlePem: certificatePem(der) });
    await expect(verifyCsr(csrPem(resigned(csr, () => {})))).resolves.toBe(true);
  });
});

describe('times', () => {
  const setTime =
    (which: 0 | 1, text: string, tag = 0x17) =>
    (tbs: EditNode) => {
      tbs.children![F.validity]!.children![which] = { tag, content: ascii(text) };
    };

  it.each([
    ['second 60', '260101000060Z'],
    ['minute 60', '260101006000Z'],
    ['hour 24', '260101240000Z'],
    ['day 32', '260132000000Z'],
    ['30 February', '260230000000Z'],
    ['29 February of a common year', '270229000000Z'],
    ['month 13', '261301000000Z'],
    ['month 0', '260001000000Z'],
    ['day 0', '260100000000Z'],
    ['no Z', '260101000000'],
    ['an offset', '260101000000+0100'],
  ])('refuses a UTCTime with %s', (_name, text) => {
    expect(() => inspect(resigned(root, setTime(0, text)))).toThrow(refused('CERTLOOP_INVALID_DER', 'time'));
  });

  it.each([
    ['fractional seconds', '20260101000000.5Z'],
    ['second 60', '20261231235960Z'],
    ['30 February', '20260230000000Z'],
  ])('refuses a GeneralizedTime with %s', (_name, text) => {
    expect(() => inspect(resigned(root, setTime(1, text, 0x18)))).toThrow(refused('CERTLOOP_INVALID_DER', 'time'));
  });

  it('reads 29 February of a leap year, and UTCTime 49/50 as 2049/1950', () => {
    const leap = inspect(resigned(root, setTime(0, '280229120000Z')));
    expect(leap.notBefore.toISOString()).toBe('2028-02-29T12:00:00.000Z');
    expect(inspect(resigned(root, setTime(1, '491231235959Z'))).notAfter.getUTCFullYear()).toBe(2049);
    expect(inspect(resigned(root, setTime(0, '500101000000Z'))).notBefore.getUTCFullYear()).toBe(1950);
  });

  it('reads a GeneralizedTime year below 100 as that year, as OpenSSL does (not 19xx)', () => {
    const der = resigned(root, setTime(0, '00500101000000Z', 0x18));
    expect(inspect(der).notBefore.toISOString()).toBe('0050-01-01T00:00:00.000Z');
  });
});

describe('OIDs and INTEGERs', () => {
  it('refuses a 0x80-padded OID arc (a padded basicConstraints OID does not make a CA)', () => {
    const der = resigned(root, (tbs) => {
      extension(tbs, OIDS.basicConstraints).children![0]!.content = bytes(0x55, 0x80, 0x1d, 0x13);
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'oid'));
  });

  it('shows a negative serial as OpenSSL and Node do (-01), apart from 255 (ff)', () => {
    const negative = resigned(root, (tbs) => {
      tbs.children![F.serial]!.content = bytes(0xff);
    });
    const positive = resigned(root, (tbs) => {
      tbs.children![F.serial]!.content = bytes(0x00, 0xff);
    });
    expect(inspect(negative).serialNumber).toBe('-01');
    expect(new X509Certificate(negative).serialNumber).toBe('-01');
    expect(inspect(positive).serialNumber).toBe('ff');
    const big = resigned(root, (tbs) => {
      tbs.children![F.serial]!.content = bytes(0x80, 0x00);
    });
    expect(inspect(big).serialNumber).toBe('-8000');
  });

  it.each([
    ['a zero pad', [0x00, 0x01]],
    ['a 0xff pad', [0xff, 0x80]],
    ['no content', []],
  ])('refuses a serial INTEGER with %s', (_name, content) => {
    const der = resigned(root, (tbs) => {
      tbs.children![F.serial]!.content = bytes(...content);
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'integer'));
  });
});

describe('BER where DER is required', () => {
  it('refuses a long-form length with a leading zero, inside and outside the signed part', () => {
    const inside = resigned(root, (tbs) => {
      const subject = tbs.children![F.subject]!;
      subject.lengthOverride = bytes(0x82, 0x00, encodeTree(subject).length - 2);
    });
    expect(() => inspect(inside)).toThrow(refused('CERTLOOP_INVALID_DER', 'length'));
    // Outside: the same signed certificate with its outer length re-encoded in three octets.
    const der = resigned(root, () => {});
    const longForm = Buffer.concat([
      Buffer.from([0x30, 0x83, 0x00]),
      Buffer.from(der.subarray(2, 4)),
      Buffer.from(der.subarray(4)),
    ]);
    expect(der[1]).toBe(0x82);
    expect(() => inspect(new Uint8Array(longForm))).toThrow(refused('CERTLOOP_INVALID_DER', 'length'));
  });

  it('refuses a long form for a short length', () => {
    const der = resigned(root, (tbs) => {
      const cn = subjectCn(tbs);
      cn.lengthOverride = bytes(0x81, cn.content!.length);
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'length'));
  });

  it('refuses an indefinite length', () => {
    const der = resigned(root, (tbs) => {
      const validity = tbs.children![F.validity]!;
      validity.lengthOverride = bytes(0x80);
      validity.trailer = bytes(0, 0);
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'indefinite-length'));
  });

  it('refuses a BOOLEAN of 0x01 (basicConstraints cA and critical)', () => {
    const ca = resigned(root, (tbs) => {
      extensionValue(extension(tbs, OIDS.basicConstraints)).children![0]!.content = bytes(0x01);
    });
    expect(() => inspect(ca)).toThrow(refused('CERTLOOP_INVALID_DER', 'boolean'));
    const critical = resigned(root, (tbs) => {
      extension(tbs, OIDS.keyUsage).children![1]!.content = bytes(0x01);
    });
    expect(() => inspect(critical)).toThrow(refused('CERTLOOP_INVALID_DER', 'boolean'));
  });

  it('refuses DEFAULT values encoded: critical FALSE, cA FALSE, version v1', () => {
    const critical = resigned(root, (tbs) => {
      extension(tbs, OIDS.keyUsage).children![1]!.content = bytes(0x00);
    });
    expect(() => inspect(critical)).toThrow(refused('CERTLOOP_INVALID_DER', 'default-encoded'));
    const ca = resigned(root, (tbs) => {
      extensionValue(extension(tbs, OIDS.basicConstraints)).children![0]!.content = bytes(0x00);
    });
    expect(() => inspect(ca)).toThrow(refused('CERTLOOP_INVALID_DER', 'default-encoded'));
    const v1 = resigned(root, (tbs) => {
      tbs.children![F.version]!.children![0]!.content = bytes(0x00);
    });
    expect(() => inspect(v1)).toThrow(refused('CERTLOOP_INVALID_DER', 'default-encoded'));
  });

  it('refuses keyUsage padding bits that are not zero', () => {
    const der = resigned(root, (tbs) => {
      const ku = extensionValue(extension(tbs, OIDS.keyUsage));
      // certloop writes keyCertSign + cRLSign as 03 02 01 06: set the one padding bit.
      ku.content = bytes(0x01, ku.content![1]! | 0x01);
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'bit-string'));
  });

  it('refuses trailing bytes after the certificate and after an extension value', () => {
    const der = resigned(root, () => {});
    expect(() => inspect(new Uint8Array([...der, 0x00]))).toThrow(refused('CERTLOOP_INVALID_DER', 'trailing-data'));
    const inner = resigned(root, (tbs) => {
      const octets = extension(tbs, OIDS.basicConstraints).children![2]!;
      octets.trailer = bytes(0x05, 0x00);
    });
    expect(() => inspect(inner)).toThrow(refused('CERTLOOP_INVALID_DER', 'trailing-data'));
  });
});

describe('structures with extra or wrong elements', () => {
  it('refuses an AlgorithmIdentifier with an extra element (inner and outer alike)', () => {
    const extra = (tbs: EditNode) => {
      tbs.children![F.signature]!.children!.push({ tag: 0x05, content: bytes() }, { tag: 0x05, content: bytes() });
    };
    const copy = structuredClone(root.signed);
    extra(copy);
    const tbsDer = encodeTree(copy);
    // Sign, then give the outer identifier the same extra elements so the two still match byte for byte.
    const signed = signWrapped(tbsDer, root.keyPem);
    const outerAlg = copy.children![F.signature]!;
    const fixed = replaceOuterAlgorithm(signed, encodeTree(outerAlg));
    expect(() => inspect(fixed)).toThrow(refused('CERTLOOP_INVALID_DER'));
  });

  it('refuses a NULL parameter with content in an RSA signature AlgorithmIdentifier (found by the fuzzer)', async () => {
    const rsa = await selfSignedFixture('RSA-2048');
    const copy = structuredClone(rsa.signed);
    copy.children![F.signature]!.children![1] = { tag: 0x05, content: bytes(0x00) };
    const der = signWrapped(encodeTree(copy), rsa.keyPem, encodeTree(copy.children![F.signature]!));
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER'));
    expect(() => new X509Certificate(der)).toThrow();
  });

  it('refuses parameters on an ECDSA signature algorithm, and malformed parameters on any (found by the fuzzer)', () => {
    const withParameters = (parameters: EditNode) => {
      const copy = structuredClone(root.signed);
      copy.children![F.signature]!.children!.push(parameters);
      const identifier = encodeTree(copy.children![F.signature]!);
      return signWrapped(encodeTree(copy), root.keyPem, identifier);
    };
    expect(() => inspect(withParameters({ tag: 0x05, content: bytes() }))).toThrow(refused('CERTLOOP_INVALID_DER'));
    // [5] constructed holding bytes that are not DER elements.
    expect(() => inspect(withParameters({ tag: 0xa5, content: bytes(0x30, 0x05, 0x01) }))).toThrow(
      refused('CERTLOOP_INVALID_DER'),
    );
  });

  it('refuses an SPKI with an extra element, also as a trust anchor', async () => {
    const der = resigned(root, (tbs) => {
      tbs.children![F.spki]!.children!.push({ tag: 0x05, content: bytes() });
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER'));
    await expect(
      validateChain({ leafPem: certificatePem(resigned(root, () => {})), trustBundlePem: certificatePem(der) }),
    ).rejects.toThrow(refused('CERTLOOP_INVALID_DER'));
  });

  it('refuses an AlgorithmIdentifier in the SPKI with an extra element', () => {
    const der = resigned(root, (tbs) => {
      tbs.children![F.spki]!.children![0]!.children!.push({ tag: 0x05, content: bytes() });
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER'));
  });

  it('refuses a SAN GeneralName with an invalid tag instead of skipping it', () => {
    const der = withSans(root, [
      { tag: 0x82, content: ascii('ok.example.test') },
      { tag: 0x89, content: ascii('what') },
    ]);
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER'));
  });

  it('refuses malformed GeneralNames of the kinds certloop does not use (OpenSSL refuses the whole SAN)', () => {
    const withName = (name: EditNode) => withSans(root, [{ tag: 0x82, content: ascii('ok.example.test') }, name]);
    // directoryName holding a SET with a BMPString where an AttributeTypeAndValue belongs (found by the fuzzer).
    const badDirectory = withName({
      tag: 0xa4,
      children: [{ tag: 0x30, children: [{ tag: 0x31, children: [{ tag: 0x1e, content: bytes(0, 0x61) }] }] }],
    });
    expect(() => inspect(badDirectory)).toThrow(refused('CERTLOOP_INVALID_DER'));
    const badOtherName = withName({ tag: 0xa0, children: [{ tag: 0x06, content: bytes(0x2a, 0x03) }] });
    expect(() => inspect(badOtherName)).toThrow(refused('CERTLOOP_INVALID_DER'));
    const badRegisteredId = withName({ tag: 0x88, content: bytes(0x2a, 0x80, 0x03) });
    expect(() => inspect(badRegisteredId)).toThrow(refused('CERTLOOP_INVALID_DER', 'oid'));
    const goodDirectory = withName({ tag: 0xa4, children: [tbsSubject(root)] });
    expect(inspect(goodDirectory).sans.dnsNames).toEqual(['ok.example.test']);
  });

  it('refuses an AKI with an element after keyIdentifier (OpenSSL then says CA:FALSE; found by the fuzzer)', () => {
    const der = resigned(root, (tbs) => {
      const aki = tbs.children![F.extensions]!.children![0]!.children!.find((ext) =>
        same(ext.children![0]!.content, bytes(0x55, 0x1d, 0x23)),
      )!;
      extensionValue(aki).children!.push({ tag: 0x01, content: bytes(0x00) });
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER'));
    expect(new X509Certificate(der).ca).toBe(false);
  });

  it('refuses BER or trailing bytes inside an extension certloop does not decode', () => {
    const unknown = (value: EditNode) =>
      resigned(root, (tbs) => {
        addExtension(tbs, {
          tag: 0x30,
          children: [
            { tag: 0x06, content: bytes(0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe4, 0x1f, 0x01) },
            { tag: 0x04, children: [value] },
          ],
        });
      });
    const fine = unknown({ tag: 0x30, children: [{ tag: 0x0c, content: ascii('x') }] });
    expect(inspect(fine).subject.commonName).toBe('fuzz root');
    const ber = unknown({ tag: 0x30, lengthOverride: bytes(0x81, 3), children: [{ tag: 0x0c, content: ascii('x') }] });
    expect(() => inspect(ber)).toThrow(refused('CERTLOOP_INVALID_DER', 'length'));
    const trailing = unknown({ tag: 0x30, children: [], trailer: bytes(0x30) });
    expect(() => inspect(trailing)).toThrow(refused('CERTLOOP_INVALID_DER'));
  });

  it('refuses malformed extensions OpenSSL decodes and certloop does not use (OpenSSL reads CA:FALSE; found by the fuzzer)', () => {
    const withExtension = (oid: number[], value: EditNode) =>
      resigned(root, (tbs) => {
        addExtension(tbs, {
          tag: 0x30,
          children: [
            { tag: 0x06, content: bytes(...oid) },
            { tag: 0x04, children: [value] },
          ],
        });
      });
    const nameConstraints = [0x55, 0x1d, 0x1e];
    // A GeneralSubtree without its base, and a subjectKeyIdentifier-like value under the nameConstraints OID.
    const noBase = withExtension(nameConstraints, {
      tag: 0x30,
      children: [{ tag: 0xa0, children: [{ tag: 0x30, children: [] }] }],
    });
    expect(() => inspect(noBase)).toThrow(refused('CERTLOOP_INVALID_DER'));
    expect(new X509Certificate(noBase).ca).toBe(false);
    const octets = withExtension(nameConstraints, { tag: 0x04, content: bytes(1, 2, 3) });
    expect(() => inspect(octets)).toThrow(refused('CERTLOOP_INVALID_DER'));
    const policies = withExtension([0x55, 0x1d, 0x20], { tag: 0x30, children: [{ tag: 0x30, children: [] }] });
    expect(() => inspect(policies)).toThrow(refused('CERTLOOP_INVALID_DER'));
    // A well-formed one is read (and OpenSSL agrees it is a CA).
    const permitted = withExtension(nameConstraints, {
      tag: 0x30,
      children: [{ tag: 0xa0, children: [{ tag: 0x30, children: [{ tag: 0x82, content: ascii('example.test') }] }] }],
    });
    expect(inspect(permitted).isCA).toBe(true);
    expect(new X509Certificate(permitted).ca).toBe(true);
  });

  it('checks the primitives inside values certloop does not read (an odd BMPString in an otherName; found by the fuzzer)', () => {
    const otherName = (value: EditNode) =>
      withSans(root, [
        {
          tag: 0xa0,
          children: [
            { tag: 0x06, content: bytes(0x2a, 0x03) },
            { tag: 0xa0, children: [value] },
          ],
        },
      ]);
    expect(() => inspect(otherName({ tag: 0x1e, content: bytes(0x61) }))).toThrow(
      refused('CERTLOOP_INVALID_DER', 'string'),
    );
    expect(() => inspect(otherName({ tag: 0x02, content: bytes(0x00, 0x01) }))).toThrow(
      refused('CERTLOOP_INVALID_DER', 'integer'),
    );
    expect(() => inspect(otherName({ tag: 0x05, content: bytes(0x00) }))).toThrow(refused('CERTLOOP_INVALID_DER'));
    expect(inspect(otherName({ tag: 0x0c, content: ascii('upn@example.test') })).sans.dnsNames).toEqual([]);
  });

  it('refuses a unique identifier that is not a valid BIT STRING (found by the fuzzer)', () => {
    const der = resigned(root, (tbs) => {
      tbs.children!.splice(F.extensions, 0, { tag: 0x81, content: bytes(0x40, 0x01) });
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'bit-string'));
    const fine = resigned(root, (tbs) => {
      tbs.children!.splice(F.extensions, 0, { tag: 0x81, content: bytes(0x00, 0x01) });
    });
    expect(inspect(fine).subject.commonName).toBe('fuzz root');
    expect(new X509Certificate(fine).subject).toContain('fuzz root');
  });

  it('refuses an EC public key that is not a point on its curve (Node cannot load it; found by the fuzzer)', () => {
    const der = resigned(root, (tbs) => {
      const key = tbs.children![F.spki]!.children![1]!;
      const copy = key.content!.slice();
      copy[copy.length - 1]! ^= 1;
      key.content = copy;
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_KEY'));
    expect(() => new X509Certificate(der).publicKey).toThrow();
  });

  it('refuses a Name attribute with an extra element, a non-string value or invalid UTF-8', () => {
    const extra = resigned(root, (tbs) => {
      const rdn = tbs.children![F.subject]!.children!.at(-1)!;
      rdn.children![0]!.children!.push({ tag: 0x0c, content: ascii('second') });
    });
    expect(() => inspect(extra)).toThrow(refused('CERTLOOP_INVALID_DER'));
    const integer = resigned(root, (tbs) => {
      Object.assign(subjectCn(tbs), { tag: 0x02, content: bytes(0x01) });
    });
    expect(() => inspect(integer)).toThrow(refused('CERTLOOP_INVALID_DER', 'string'));
    const badUtf8 = resigned(root, (tbs) => {
      Object.assign(subjectCn(tbs), { tag: 0x0c, content: bytes(0x61, 0xc3, 0x28) });
    });
    expect(() => inspect(badUtf8)).toThrow(refused('CERTLOOP_INVALID_DER', 'string'));
  });

  it('treats an undecodable first CN as an error, never falling back to a second CN', () => {
    const der = resigned(root, (tbs) => {
      const subject = tbs.children![F.subject]!;
      const cnRdn = subject.children!.find((rdn) => same(rdn.children![0]!.children![0]!.content, OIDS.commonName))!;
      const second = structuredClone(cnRdn);
      second.children![0]!.children![1] = { tag: 0x0c, content: ascii('attacker') };
      cnRdn.children![0]!.children![1] = { tag: 0x0c, content: bytes(0xff) };
      subject.children!.push(second);
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'string'));
  });

  it('refuses a BMPString holding a surrogate code unit, as OpenSSL does (found by the fuzzer)', () => {
    const der = resigned(root, (tbs) => {
      Object.assign(subjectCn(tbs), { tag: 0x1e, content: bytes(0x00, 0x61, 0xd8, 0x3d, 0xde, 0x00) });
    });
    expect(() => inspect(der)).toThrow(refused('CERTLOOP_INVALID_DER', 'string'));
    expect(() => new X509Certificate(der)).toThrow();
  });

  it('reads a CN in UniversalString or NumericString as OpenSSL does', () => {
    const universal = resigned(root, (tbs) => {
      Object.assign(subjectCn(tbs), { tag: 0x1c, content: bytes(0, 0, 0, 0x61, 0, 0, 0, 0xfc, 0, 1, 0xf6, 0x00) });
    });
    expect(inspect(universal).subject.commonName).toBe('aü😀');
    expect(new X509Certificate(universal).subject).toContain('CN=aü😀');
    const numeric = resigned(root, (tbs) => {
      Object.assign(subjectCn(tbs), { tag: 0x12, content: ascii('0123 456') });
    });
    expect(inspect(numeric).subject.commonName).toBe('0123 456');
  });

  it('refuses a VisibleString (or any non-string) in a Name, as OpenSSL does (found by the fuzzer)', () => {
    const visible = resigned(root, (tbs) => {
      Object.assign(subjectCn(tbs), { tag: 0x1a, content: ascii('visible') });
    });
    expect(() => inspect(visible)).toThrow(refused('CERTLOOP_INVALID_DER', 'string'));
    expect(() => new X509Certificate(visible)).toThrow();
    const unknownOctets = resigned(root, (tbs) => {
      tbs.children![F.subject]!.children!.push({
        tag: 0x31,
        children: [
          {
            tag: 0x30,
            children: [
              { tag: 0x06, content: bytes(0x2a, 0x03) },
              { tag: 0x04, content: bytes(1) },
            ],
          },
        ],
      });
    });
    expect(() => inspect(unknownOctets)).toThrow(refused('CERTLOOP_INVALID_DER', 'string'));
  });
});

/** Replaces the outer AlgorithmIdentifier of a signed certificate (tests of matching inner/outer extras). */
function replaceOuterAlgorithm(der: Uint8Array, algorithm: Uint8Array): Uint8Array {
  const header = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  const tbsHeader = der[header + 1]! & 0x80 ? 2 + (der[header + 1]! & 0x7f) : 2;
  let tbsLength = 0;
  if (tbsHeader === 2) tbsLength = der[header + 1]!;
  else for (let i = 0; i < tbsHeader - 2; i++) tbsLength = tbsLength * 256 + der[header + 2 + i]!;
  const tbsEnd = header + tbsHeader + tbsLength;
  const algHeader = der[tbsEnd + 1]! & 0x80 ? 2 + (der[tbsEnd + 1]! & 0x7f) : 2;
  const algEnd = tbsEnd + algHeader + der[tbsEnd + algHeader - 1]!;
  const body = Buffer.concat([
    Buffer.from(der.subarray(header, tbsEnd)),
    Buffer.from(algorithm),
    Buffer.from(der.subarray(algEnd)),
  ]);
  return new Uint8Array(encodeTree({ tag: 0x30, content: new Uint8Array(body) }));
}

describe('CSR attributes and requested extensions (issue 14, item 4)', () => {
  /** CertificationRequestInfo: version, subject, SPKI, [0] attributes. */
  const attributes = (info: EditNode) => info.children![3]!;
  const extensionRequest = (info: EditNode) => attributes(info).children![0]!;
  const requested = (info: EditNode) => extensionRequest(info).children![1]!.children![0]!;
  const attribute = (type: number[], values: EditNode): EditNode => ({
    tag: 0x30,
    children: [{ tag: 0x06, content: bytes(...type) }, values],
  });
  // challengePassword (1.2.840.113549.1.9.7), an attribute certloop does not read
  const CHALLENGE = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07];
  const unknownExtension = (value: EditNode): EditNode => ({
    tag: 0x30,
    children: [
      { tag: 0x06, content: bytes(0x2a, 0x03, 0x04) },
      { tag: 0x04, children: [value] },
    ],
  });
  const parse = (der: Uint8Array) => parseCsr(csrPem(der));

  it('reads the fixture with an extra attribute certloop does not use', () => {
    const der = resigned(csr, (info) => {
      attributes(info).children!.push(
        attribute(CHALLENGE, { tag: 0x31, children: [{ tag: 0x0c, content: ascii('pw') }] }),
      );
    });
    expect(parse(der).sans.dnsNames).toEqual(['agent-1.example.test']);
  });

  it.each<[string, (info: EditNode) => void]>([
    [
      'an attribute with an extra element',
      (info) => extensionRequest(info).children!.push({ tag: 0x05, content: bytes() }),
    ],
    [
      'extensionRequest values in a SEQUENCE, not a SET',
      (info) => Object.assign(extensionRequest(info).children![1]!, { tag: 0x30 }),
    ],
    [
      'an unknown attribute whose values are not a SET',
      (info) => attributes(info).children!.push(attribute(CHALLENGE, { tag: 0x0c, content: ascii('pw') })),
    ],
    [
      'an unknown attribute with no value',
      (info) => attributes(info).children!.push(attribute(CHALLENGE, { tag: 0x31, children: [] })),
    ],
    [
      'an unknown attribute holding a padded INTEGER',
      (info) =>
        attributes(info).children!.push(
          attribute(CHALLENGE, { tag: 0x31, children: [{ tag: 0x02, content: bytes(0x00, 0x01) }] }),
        ),
    ],
    [
      'an unknown attribute holding invalid UTF-8',
      (info) =>
        attributes(info).children!.push(
          attribute(CHALLENGE, { tag: 0x31, children: [{ tag: 0x0c, content: bytes(0xc3, 0x28) }] }),
        ),
    ],
    ['extensionRequest twice', (info) => attributes(info).children!.push(structuredClone(extensionRequest(info)))],
    [
      'an attribute type that is not an OID',
      (info) => Object.assign(extensionRequest(info).children![0]!, { tag: 0x04 }),
    ],
    [
      'a requested extension the CA ignores holding BER (a long form length)',
      (info) =>
        requested(info).children!.push(
          unknownExtension({ tag: 0x30, lengthOverride: bytes(0x81, 3), children: [{ tag: 0x02, content: bytes(5) }] }),
        ),
    ],
    [
      'a requested extension the CA ignores with trailing bytes',
      (info) => {
        const ext = unknownExtension({ tag: 0x05, content: bytes() });
        ext.children!.at(-1)!.trailer = bytes(0x05, 0x00);
        requested(info).children!.push(ext);
      },
    ],
    [
      'a requested certificatePolicies that does not decode',
      (info) =>
        requested(info).children!.push({
          tag: 0x30,
          children: [
            { tag: 0x06, content: bytes(0x55, 0x1d, 0x20) },
            { tag: 0x04, children: [{ tag: 0x30, children: [] }] },
          ],
        }),
    ],
  ])('refuses %s (CERTLOOP_CSR_INVALID)', (_name, edit) => {
    expect(() => parse(resigned(csr, edit))).toThrow(refused('CERTLOOP_CSR_INVALID'));
  });
});

describe('IA5 GeneralNames (found by the CRL/CSR differential, issue 14)', () => {
  it('refuses a control character or a byte above 0x7e in a dNSName, rfc822Name or URI (OpenSSL will not print or match them)', () => {
    for (const [tag, text] of [
      [0x82, bytes(0x00, ...ascii('agent.example.test'))],
      [0x82, new Uint8Array([...ascii('good.example'), 0, ...ascii('.evil.test')])],
      [0x82, new Uint8Array([...ascii('caf'), 0xe9, ...ascii('.example')])],
      [0x81, new Uint8Array([...ascii('a@b'), 0])],
      [0x86, new Uint8Array([...ascii('https://a'), 0x80])],
      // any control character, not only NUL (a newline split OpenSSL's printed list in the CSR differential)
      [0x82, new Uint8Array([0x0a, ...ascii('agent-1.example.test')])],
      [0x82, new Uint8Array([...ascii('agent'), 0x09, ...ascii('.example')])],
      [0x81, new Uint8Array([...ascii('a@b'), 0x0d])],
      [0x86, new Uint8Array([...ascii('https://a/'), 0x7f])],
    ] as const) {
      expect(() => inspect(withSans(root, [{ tag, content: text }]))).toThrow(
        refused('CERTLOOP_INVALID_DER', 'string'),
      );
    }
  });
});
