import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, type TempDir, tempDir } from '../ca/test-support.js';
import { createCsr, parseCsr, verifyCsr } from './csr.js';
import { basicConstraintsValue } from './extensions-writer.js';
import { generateKeyPair } from './keys.js';
import { OID } from './oids.js';
import { pemDecode, pemEncode } from './pem.js';
import type { KeyPair } from './types.js';

let dir: TempDir;
let key: KeyPair;

beforeAll(async () => {
  [dir, key] = await Promise.all([tempDir('certloop-csr-'), generateKeyPair({ algorithm: 'ECDSA-P256' })]);
});

afterAll(async () => {
  await dir.remove();
});

describe('createCsr and parseCsr', () => {
  it('round-trip subject, every SAN kind and requested extensions, and openssl agrees', async () => {
    const { csrPem } = await createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'agent-1', organization: 'certloop', organizationalUnit: 'relay', country: 'de' },
      dnsNames: ['agent-1.example.test'],
      ipAddresses: ['10.0.0.1', '2001:DB8::0:1'],
      uris: ['spiffe://certloop.test/agent/agent-1'],
      emails: ['ops@example.test'],
      extensions: [{ oid: OID.basicConstraints, critical: true, valueDer: basicConstraintsValue(true, 2) }],
    });
    const parsed = parseCsr(csrPem);
    expect(parsed).toMatchObject({
      subject: { commonName: 'agent-1', organization: 'certloop', organizationalUnit: 'relay', country: 'DE' },
      subjectText: 'CN=agent-1, OU=relay, O=certloop, C=DE',
      sans: {
        dnsNames: ['agent-1.example.test'],
        ipAddresses: ['10.0.0.1', '2001:db8::1'],
        uris: ['spiffe://certloop.test/agent/agent-1'],
        emails: ['ops@example.test'],
      },
      publicKey: { type: 'ECDSA', curve: 'P-256', algorithm: 'ECDSA-P256' },
      publicKeyPem: key.publicKeyPem,
      basicConstraints: { ca: true, pathLength: 2 },
      signatureAlgorithm: 'ecdsa-with-SHA256',
    });
    expect(parsed.requestedExtensions.map((e) => [e.oid, e.critical])).toEqual([
      [OID.subjectAltName, false],
      [OID.basicConstraints, true],
    ]);
    await expect(verifyCsr(csrPem)).resolves.toBe(true);

    const file = await dir.write('full.csr', csrPem);
    const text = await openssl(['req', '-in', file, '-noout', '-text', '-verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('DNS:agent-1.example.test, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1');
    expect(text.stdout).toContain('URI:spiffe://certloop.test/agent/agent-1, email:ops@example.test');
    expect(text.stdout).toMatch(/Subject: C ?= ?DE, O ?= ?certloop, OU ?= ?relay, CN ?= ?agent-1/);
  });

  it('reads CSRs openssl writes, with SANs and basicConstraints, and verifies them', async () => {
    const rsaKey = await openssl(['genrsa', '-traditional', '2048']);
    const keyFile = await dir.write('rsa.key', rsaKey.stdout);
    const req = await openssl([
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/O=Other/CN=openssl agent',
      '-addext',
      'subjectAltName=DNS:a.example.test,IP:::1,URI:urn:x',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
    ]);
    expect(req.code).toBe(0);
    const parsed = parseCsr(req.stdout);
    expect(parsed).toMatchObject({
      subject: { commonName: 'openssl agent', organization: 'Other' },
      subjectText: 'CN=openssl agent, O=Other',
      sans: { dnsNames: ['a.example.test'], ipAddresses: ['::1'], uris: ['urn:x'], emails: [] },
      publicKey: { type: 'RSA', size: 2048 },
      basicConstraints: { ca: false },
      signatureAlgorithm: 'sha256WithRSAEncryption',
    });
    await expect(verifyCsr(req.stdout)).resolves.toBe(true);
  });

  it('writes CSRs for every key algorithm that openssl verifies', async () => {
    for (const algorithm of ['ECDSA-P384', 'RSA-2048', 'Ed25519'] as const) {
      const pair = await generateKeyPair({ algorithm });
      const { csrPem } = await createCsr({ privateKeyPem: pair.privateKeyPem, subject: { commonName: algorithm } });
      const file = await dir.write(`${algorithm}.csr`, csrPem);
      expect((await openssl(['req', '-verify', '-noout', '-in', file])).code).toBe(0);
      await expect(verifyCsr(csrPem)).resolves.toBe(true);
    }
  });
});

describe('CSR refusals', () => {
  it('verifyCsr throws CERTLOOP_CSR_SIGNATURE_INVALID for a flipped byte', async () => {
    const { csrDer } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'flip' } });
    const tampered = new Uint8Array(csrDer);
    tampered[tampered.length - 5]! ^= 0x01;
    await expect(verifyCsr(pemEncode('CERTIFICATE REQUEST', tampered))).rejects.toMatchObject({
      code: 'CERTLOOP_CSR_SIGNATURE_INVALID',
    });
  });

  it('parseCsr refuses garbage, oversize input and structural damage with typed errors', async () => {
    const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'x' } });
    const der = pemDecode(csrPem).der;
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'no error';
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    expect(code(() => parseCsr('garbage'))).toBe('CERTLOOP_INVALID_PEM');
    expect(code(() => parseCsr(`${' '.repeat(40_000)}${csrPem}`))).toBe('CERTLOOP_INPUT_TOO_LARGE');
    expect(code(() => parseCsr(csrPem, { maxBytes: 100 }))).toBe('CERTLOOP_INPUT_TOO_LARGE');
    expect(code(() => parseCsr(pemEncode('CERTIFICATE REQUEST', der.subarray(0, 50))))).toBe('CERTLOOP_CSR_INVALID');
    expect(code(() => parseCsr(pemEncode('CERTIFICATE REQUEST', new Uint8Array(20_000))))).toBe(
      'CERTLOOP_INPUT_TOO_LARGE',
    );
    const wrongVersion = new Uint8Array(der);
    // CertificationRequest > CertificationRequestInfo > version INTEGER 0: the first 02 01 00.
    const at = Buffer.from(wrongVersion).indexOf(Buffer.from([0x02, 0x01, 0x00]));
    wrongVersion[at + 2] = 5;
    expect(code(() => parseCsr(pemEncode('CERTIFICATE REQUEST', wrongVersion)))).toBe('CERTLOOP_CSR_INVALID');
  });
});
