import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../x509/certificate.js';
import { createCsr } from '../x509/csr.js';
import { inspectCertificate } from '../x509/inspect.js';
import { generateKeyPair } from '../x509/keys.js';
import { OID } from '../x509/oids.js';
import { pemDecode } from '../x509/pem.js';
import type { KeyPair } from '../x509/types.js';
import { createTestPki, type TestPki } from './test-support.js';

let pki: TestPki;
let ecKey: KeyPair;
let rsaKey: KeyPair;

beforeAll(async () => {
  [pki, ecKey, rsaKey] = await Promise.all([
    createTestPki('ECDSA-P256'),
    generateKeyPair({ algorithm: 'ECDSA-P256' }),
    generateKeyPair({ algorithm: 'RSA-2048' }),
  ]);
});

function criticality(pem: string): Record<string, boolean> {
  const cert = parseCertificate(pemDecode(pem).der);
  return Object.fromEntries(cert.extensions.map((e) => [e.oid, e.critical]));
}

describe('issued certificates', () => {
  it('have unique positive serials of 16 bytes (126 random bits)', async () => {
    const { csrPem } = await createCsr({ privateKeyPem: ecKey.privateKeyPem, subject: { commonName: 'serial' } });
    const serials = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const result = await pki.intermediateCa.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' });
      expect(result.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
      serials.add(result.serialNumber);
      if (i === 0) {
        const node = new X509Certificate(result.certificatePem);
        expect(node.serialNumber.toLowerCase()).toBe(result.serialNumber);
      }
    }
    expect(serials.size).toBe(300);
  });

  it('link SKI and AKI along the chain, the SKI being the SHA-1 of the subjectPublicKey bits', async () => {
    const { csrPem } = await createCsr({ privateKeyPem: ecKey.privateKeyPem, subject: { commonName: 'linked' } });
    const leafPem = (await pki.intermediateCa.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' }))
      .certificatePem;
    const root = inspectCertificate(pki.rootPem);
    const inter = inspectCertificate(pki.intermediate.certificatePem);
    const leaf = inspectCertificate(leafPem);
    const spki = createPublicKey(ecKey.publicKeyPem).export({ type: 'spki', format: 'der' });
    // A P-256 SPKI ends with the 65-byte uncompressed point: exactly the subjectPublicKey bits.
    expect(leaf.subjectKeyId).toBe(
      createHash('sha1')
        .update(spki.subarray(spki.length - 65))
        .digest('hex'),
    );
    expect(leaf.authorityKeyId).toBe(inter.subjectKeyId);
    expect(inter.authorityKeyId).toBe(root.subjectKeyId);
    expect(root.authorityKeyId).toBe(root.subjectKeyId);
  });

  it('carry key usage, extended key usage and basic constraints per profile', async () => {
    const issue = async (key: KeyPair, profile: 'server' | 'client' | 'server+client') => {
      const { csrPem } = await createCsr({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: profile },
        dnsNames: ['p.example.test'],
      });
      const { certificatePem } = await pki.intermediateCa.sign({ csrPem, lifetimeSeconds: 3600, profile });
      return { info: inspectCertificate(certificatePem), critical: criticality(certificatePem) };
    };
    const server = await issue(ecKey, 'server');
    expect(server.info).toMatchObject({ isCA: false, keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] });
    expect(server.critical).toMatchObject({
      [OID.basicConstraints]: true,
      [OID.keyUsage]: true,
      [OID.subjectAltName]: false,
    });
    expect((await issue(ecKey, 'client')).info.extKeyUsage).toEqual(['clientAuth']);
    expect((await issue(ecKey, 'server+client')).info.extKeyUsage).toEqual(['serverAuth', 'clientAuth']);
    expect((await issue(rsaKey, 'client')).info.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    const inter = inspectCertificate(pki.intermediate.certificatePem);
    expect(inter).toMatchObject({
      isCA: true,
      pathLength: 0,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    });
    expect(inter.extKeyUsage).toEqual([]);
    expect(criticality(pki.intermediate.certificatePem)[OID.basicConstraints]).toBe(true);
  });

  it('mark the SAN critical when the subject is empty, and copy the issuer name bytes exactly', async () => {
    const { csrPem } = await createCsr({
      privateKeyPem: ecKey.privateKeyPem,
      subject: {},
      uris: ['spiffe://certloop.test/x'],
    });
    const { certificatePem } = await pki.intermediateCa.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' });
    expect(criticality(certificatePem)[OID.subjectAltName]).toBe(true);
    const leaf = parseCertificate(pemDecode(certificatePem).der);
    const inter = parseCertificate(pemDecode(pki.intermediate.certificatePem).der);
    expect(Buffer.from(leaf.issuerDer).equals(Buffer.from(inter.subjectDer))).toBe(true);
    expect(Buffer.from(leaf.subjectDer).toString('hex')).toBe('3000');
  });
});
