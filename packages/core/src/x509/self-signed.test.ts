import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { inspectCertificate } from './inspect.js';
import { generateKeyPair } from './keys.js';
import { createSelfSignedCa } from './self-signed.js';
import type { KeyPair } from './types.js';

let key: KeyPair;

beforeAll(async () => {
  key = await generateKeyPair({ algorithm: 'ECDSA-P384' });
});

describe('createSelfSignedCa', () => {
  it('makes a CA certificate with whole-second, backdated validity from the injected clock', async () => {
    const clock = new ManualClock('2031-03-04T05:06:07.999Z');
    const ca = await createSelfSignedCa({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'root', organization: 'certloop', country: 'NL' },
      lifetimeSeconds: 3650 * 86_400,
      pathLength: 2,
      clock,
    });
    expect(ca.notBefore.toISOString()).toBe('2031-03-04T05:05:07.000Z');
    expect(ca.notAfter.toISOString()).toBe('2041-03-01T05:06:07.000Z');
    const info = inspectCertificate(ca.certificatePem);
    expect(info).toMatchObject({
      subjectText: 'CN=root, O=certloop, C=NL',
      issuerText: 'CN=root, O=certloop, C=NL',
      isCA: true,
      pathLength: 2,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      serialNumber: ca.serialNumber,
      publicKey: { type: 'ECDSA', curve: 'P-384' },
    });
    expect(info.authorityKeyId).toBe(info.subjectKeyId);
    const cert = new X509Certificate(ca.certificatePem);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.validFrom).toBe('Mar  4 05:05:07 2031 GMT');
  });

  it('honours an explicit notBefore and writes GeneralizedTime past 2049', async () => {
    const ca = await createSelfSignedCa({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'long root' },
      lifetimeSeconds: 40 * 365 * 86_400,
      notBefore: new Date('2020-01-01T00:00:00.500Z'),
    });
    expect(ca.notBefore.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(ca.notAfter.getUTCFullYear()).toBeGreaterThan(2050);
    expect(new X509Certificate(ca.certificatePem).validTo).toMatch(/ 20[56]\d GMT$/);
  });

  it('refuses a subject without CN, a non-positive lifetime and a negative path length', async () => {
    const base = { privateKeyPem: key.privateKeyPem, subject: { commonName: 'x' }, lifetimeSeconds: 60 };
    for (const bad of [{ subject: {} }, { lifetimeSeconds: 0 }, { pathLength: -1 }]) {
      await expect(createSelfSignedCa({ ...base, ...bad })).rejects.toMatchObject({
        code: 'CERTLOOP_INVALID_ARGUMENT',
      });
    }
  });
});
