import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCertloopError } from '../errors.js';
import { parseCertificate } from './certificate.js';
import { children, parseDer } from './der.js';
import { inspectCertificate, inspectCertificates } from './inspect.js';
import { pemEncode } from './pem.js';
import { fixtureKey, issue, OPENSSL, OPENSSL_KEY_TYPES, opensslChain, peculiar, run } from './test-certificates.js';

const code = (c: string) => expect.objectContaining({ code: c });

const KU_TEXT: Record<string, string> = {
  'Digital Signature': 'digitalSignature',
  'Non Repudiation': 'nonRepudiation',
  'Key Encipherment': 'keyEncipherment',
  'Data Encipherment': 'dataEncipherment',
  'Key Agreement': 'keyAgreement',
  'Certificate Sign': 'keyCertSign',
  'CRL Sign': 'cRLSign',
  'Encipher Only': 'encipherOnly',
  'Decipher Only': 'decipherOnly',
};

let dir: string;
const made = new Map<string, string>(); // `${type}/${role}` -> PEM

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-inspect-'));
  await Promise.all(
    OPENSSL_KEY_TYPES.map(async (type) => {
      const chain = await opensslChain(dir, type);
      for (const role of ['root', 'int', 'leaf'] as const) made.set(`${type}/${role}`, chain[role].pem);
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What `openssl x509 -text` says about the extensions and signature algorithm. */
async function opensslText(pem: string) {
  const file = join(dir, `text-${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(file, pem);
  const text = (await run(OPENSSL, ['x509', '-noout', '-text', '-in', file])).stdout;
  const after = (label: string) => new RegExp(`${label}:[^\\n]*\\n\\s*([^\\n]+)`).exec(text)?.[1]?.trim();
  const hex = (v: string | undefined) =>
    v
      ?.replace(/^keyid:/, '')
      .replace(/:/g, '')
      .toLowerCase();
  return {
    signatureAlgorithm: /Signature Algorithm: (\S+)/.exec(text)![1],
    subjectKeyId: hex(after('X509v3 Subject Key Identifier')),
    authorityKeyId: hex(after('X509v3 Authority Key Identifier')),
    keyUsage:
      after('X509v3 Key Usage')
        ?.split(', ')
        .map((t) => KU_TEXT[t]) ?? [],
    pathLength: /pathlen:(\d+)/.exec(text)?.[1],
  };
}

/** SANs as Node prints them, sorted by kind; IPv6 normalised by WHATWG URL (RFC 5952 form). */
function nodeSans(cert: X509Certificate) {
  const out = { dnsNames: [] as string[], ipAddresses: [] as string[], uris: [] as string[], emails: [] as string[] };
  for (const item of cert.subjectAltName?.split(', ') ?? []) {
    const [kind, ...rest] = item.split(':');
    const value = rest.join(':');
    if (kind === 'DNS') out.dnsNames.push(value);
    else if (kind === 'URI') out.uris.push(value);
    else if (kind === 'email') out.emails.push(value);
    else if (kind === 'IP Address')
      out.ipAddresses.push(value.includes(':') ? new URL(`http://[${value}]`).hostname.slice(1, -1) : value);
  }
  return out;
}

const EKU_NAMES: Record<string, string> = { '1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth' };

describe('inspectCertificate agrees with Node and openssl on openssl-made certificates', () => {
  for (const type of OPENSSL_KEY_TYPES) {
    for (const role of ['root', 'int', 'leaf'] as const) {
      it(`${type} ${role}`, async () => {
        const pem = made.get(`${type}/${role}`)!;
        const info = inspectCertificate(pem);
        const node = new X509Certificate(pem);
        const text = await opensslText(pem);

        expect(info.certificatePem).toBe(pem);
        expect(info.serialNumber).toBe(node.serialNumber.toLowerCase());
        expect(info.fingerprintSha256).toBe(node.fingerprint256.replace(/:/g, '').toLowerCase());
        expect(info.notBefore.getTime()).toBe(Date.parse(node.validFrom));
        expect(info.notAfter.getTime()).toBe(Date.parse(node.validTo));
        expect(info.subjectText).toBe(node.subject.split('\n').reverse().join(', '));
        expect(info.issuerText).toBe(node.issuer.split('\n').reverse().join(', '));
        expect(info.isCA).toBe(node.ca);
        expect(info.sans).toEqual(nodeSans(node));
        expect(info.extKeyUsage).toEqual((node.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid));
        expect(info.signatureAlgorithm).toBe(text.signatureAlgorithm);
        expect(info.subjectKeyId).toBe(text.subjectKeyId);
        expect(info.authorityKeyId).toBe(text.authorityKeyId);
        expect(info.keyUsage).toEqual(text.keyUsage);
        expect(info.pathLength).toBe(text.pathLength === undefined ? undefined : Number(text.pathLength));
        const selfSigned = role === 'root';
        expect(info.selfSigned).toBe(selfSigned);
        expect(node.checkIssued(node) && node.verify(node.publicKey)).toBe(selfSigned);

        const details = node.publicKey.asymmetricKeyDetails!;
        const expectedKey = {
          rsa: { type: 'RSA', size: details.modulusLength, algorithm: 'RSA-2048' },
          p256: { type: 'ECDSA', size: 256, curve: 'P-256', algorithm: 'ECDSA-P256' },
          p384: { type: 'ECDSA', size: 384, curve: 'P-384', algorithm: 'ECDSA-P384' },
          ed25519: { type: 'Ed25519', size: 256, algorithm: 'Ed25519' },
        }[type];
        expect(info.publicKey).toEqual(expectedKey);
        expect(node.publicKey.asymmetricKeyType).toBe({ rsa: 'rsa', p256: 'ec', p384: 'ec', ed25519: 'ed25519' }[type]);
      });
    }
  }

  it('reads the subject fields of a multi-attribute name', () => {
    const info = inspectCertificate(made.get('p256/int')!);
    expect(info.subject).toEqual({
      organization: 'certloop test',
      organizationalUnit: 'ops',
      commonName: 'intermediate p256',
    });
    expect(info.issuer).toEqual({ country: 'DE', organization: 'certloop test', commonName: 'root p256' });
  });

  it('accepts DER bytes and a tls.crt-style bundle (first block), and inspects whole bundles in order', () => {
    const leaf = made.get('rsa/leaf')!;
    const bundle = `${leaf}${made.get('rsa/int')}${made.get('rsa/root')}`;
    const der = new Uint8Array(new X509Certificate(leaf).raw);
    expect(inspectCertificate(der).fingerprintSha256).toBe(inspectCertificate(leaf).fingerprintSha256);
    expect(inspectCertificate(bundle).subjectText).toBe('CN=leaf rsa');
    expect(inspectCertificates(bundle).map((c) => c.subject.commonName)).toEqual([
      'leaf rsa',
      'intermediate rsa',
      'root rsa',
    ]);
  });
});

describe('inspectCertificate on @peculiar/x509-made certificates', () => {
  it('GeneralizedTime dates, a serial with the top bit set, every key usage bit and unknown non-critical extensions', async () => {
    const x509 = await peculiar();
    const key = await fixtureKey('ECDSA-P256');
    const cert = await issue({
      subject: 'CN=odd one, O=certloop',
      key,
      serialNumber: 'ff00000000000000000000000000000001',
      notBefore: new Date('2049-12-31T23:59:59Z'),
      notAfter: new Date('2100-01-01T00:00:00Z'),
      keyUsage: 0x1ff,
      extKeyUsage: ['1.3.6.1.5.5.7.3.3', '2.5.29.37.0', '1.2.3.4.5'],
      sans: [
        { type: 'email', value: 'a@b.example' },
        { type: 'url', value: 'https://example.test/x' },
        { type: 'ip', value: '::ffff:0:1' },
      ],
      extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.1', false, new Uint8Array([0x05, 0x00]))],
    });
    const info = inspectCertificate(cert.pem);
    const node = new X509Certificate(cert.pem);
    expect(info.notBefore.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(info.notAfter.toISOString()).toBe('2100-01-01T00:00:00.000Z');
    expect(info.notAfter.getTime()).toBe(Date.parse(node.validTo));
    expect(info.serialNumber).toBe(node.serialNumber.toLowerCase());
    expect(info.serialNumber).toBe('ff00000000000000000000000000000001');
    expect(info.keyUsage).toHaveLength(9);
    expect(info.extKeyUsage).toEqual(['codeSigning', 'anyExtendedKeyUsage', '1.2.3.4.5']);
    expect(info.sans).toEqual({
      dnsNames: [],
      ipAddresses: ['::ffff:0:1'],
      uris: ['https://example.test/x'],
      emails: ['a@b.example'],
    });
    expect(info.isCA).toBe(false);
    expect(info.selfSigned).toBe(true);
  });

  it('a self-issued certificate with another key (new root, same name) is not self-signed', async () => {
    const [oldKey, newKey] = await Promise.all([fixtureKey('ECDSA-P256'), fixtureKey('ECDSA-P256')]);
    const oldRoot = await issue({ subject: 'CN=root', key: oldKey, ca: true });
    const crossSigned = await issue({ subject: 'CN=root', key: newKey, issuer: oldRoot, ca: true });
    expect(inspectCertificate(oldRoot.pem).selfSigned).toBe(true);
    expect(inspectCertificate(crossSigned.pem).selfSigned).toBe(false);
  });
});

describe('malformed certificates are refused with typed codes', () => {
  const leafDer = () => new Uint8Array(new X509Certificate(made.get('p256/leaf')!).raw);

  it.each([
    ['garbage text', 'hello', 'CERTLOOP_INVALID_PEM'],
    ['a private key', pemEncode('PRIVATE KEY', new Uint8Array([0x30, 0])), 'CERTLOOP_INVALID_PEM'],
    [
      'random bytes labelled CERTIFICATE',
      pemEncode('CERTIFICATE', new Uint8Array([1, 2, 3, 4])),
      'CERTLOOP_INVALID_DER',
    ],
    ['an empty SEQUENCE', pemEncode('CERTIFICATE', new Uint8Array([0x30, 0])), 'CERTLOOP_INVALID_DER'],
    ['a certificate larger than 64 KiB', pemEncode('CERTIFICATE', new Uint8Array(70_000)), 'CERTLOOP_INPUT_TOO_LARGE'],
  ])('%s → %s', (_name, input, expected) => {
    expect(() => inspectCertificate(input)).toThrowError(code(expected));
  });

  it('truncated, or followed by trailing bytes → CERTLOOP_INVALID_DER', () => {
    const der = leafDer();
    expect(() => inspectCertificate(der.subarray(0, der.length - 1))).toThrowError(code('CERTLOOP_INVALID_DER'));
    expect(() => inspectCertificate(new Uint8Array([...der, 0]))).toThrowError(code('CERTLOOP_INVALID_DER'));
  });

  it('an outer signature algorithm that differs from the signed one → CERTLOOP_INVALID_DER', () => {
    const der = leafDer();
    const outer = children(parseDer(der))[1]!;
    const oidNode = children(outer)[0]!;
    der[oidNode.end - 1] ^= 0x01; // ecdsa-with-SHA256 -> ecdsa-with-SHA384 outside the signed part
    expect(() => parseCertificate(der)).toThrowError(code('CERTLOOP_INVALID_DER'));
  });

  it('a duplicated extension → CERTLOOP_INVALID_DER', async () => {
    const key = await fixtureKey('ECDSA-P256');
    const x509 = await peculiar();
    const cert = await issue({
      subject: 'CN=twice',
      key,
      sans: [{ type: 'dns', value: 'a.example' }],
      extraExtensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'b.example' }])],
    });
    expect(() => inspectCertificate(cert.pem)).toThrowError(code('CERTLOOP_INVALID_DER'));
  });

  it('random corruption of a real certificate parses or throws a CertloopError, never anything else', () => {
    const original = leafDer();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const der = original.slice();
          for (const [at, value] of edits) der[at] = value;
          try {
            inspectCertificate(der);
          } catch (err) {
            expect(isCertloopError(err)).toBe(true);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('inspection cost', () => {
  it('inspects a certificate in well under a millisecond (hot path: monitor and provider)', () => {
    const pem = made.get('rsa/leaf')!;
    const n = 2000;
    const start = performance.now();
    for (let i = 0; i < n; i++) inspectCertificate(pem);
    const perCall = (performance.now() - start) / n;
    expect(perCall).toBeLessThan(1); // measured around 0.03 ms on the 2-core development machine
  });
});
