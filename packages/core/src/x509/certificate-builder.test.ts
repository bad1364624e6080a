import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCertificatePemSync, buildCertificateSync, prepareIssuer } from './certificate-builder.js';
import { oid, seq, tlv, utf8String } from './der.js';
import { OID } from './oids.js';
import { pemEncode } from './pem.js';

describe('buildCertificatePemSync (the issuance hot path: the certificate written into pooled memory)', () => {
  it('gives the very PEM buildCertificateSync gives, and leaves no byte of it behind to be overwritten', async () => {
    // Ed25519 signatures are deterministic, so the two builds of one template must agree byte for byte.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const issuer = await prepareIssuer({
      nameDer: seq(tlv(0x31, seq(oid(OID.commonName), utf8String('builder root')))),
      pkcs8Der: privateKey.export({ format: 'der', type: 'pkcs8' }),
      info: { type: 'Ed25519', size: 256 },
    });
    const template = {
      serialNumber: new Uint8Array([0x41, 2, 3]),
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
      subjectDer: seq(tlv(0x31, seq(oid(OID.commonName), utf8String('leaf')))),
      spkiDer: publicKey.export({ format: 'der', type: 'spki' }),
      extensions: [],
    };
    const { der, pem } = buildCertificateSync(issuer, template);
    const pooled = buildCertificatePemSync(issuer, template);
    expect(pooled).toBe(pem);
    expect(pooled).toBe(pemEncode('CERTIFICATE', der));
    // The pooled bytes are reused by the next build: the PEM string already made must not change with them.
    buildCertificatePemSync(issuer, { ...template, serialNumber: new Uint8Array([0x42]) });
    expect(pooled).toBe(pem);
    expect(new X509Certificate(pooled).verify(publicKey)).toBe(true);
  });
});
