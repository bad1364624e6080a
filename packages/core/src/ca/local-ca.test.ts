import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { type CertloopError, type CertloopErrorCode, isCertloopError } from '../errors.js';
import { createCsr } from '../x509/csr.js';
import { basicConstraintsValue } from '../x509/extensions-writer.js';
import { generateKeyPair } from '../x509/keys.js';
import { OID } from '../x509/oids.js';
import { pemDecode, pemEncode } from '../x509/pem.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import type { KeyPair } from '../x509/types.js';
import { LocalCertificateAuthority } from './local-ca.js';
import { DEFAULT_ISSUANCE_POLICY } from './policy.js';
import { createTestPki, issueLeaf, openssl, type TestPki, tempDir } from './test-support.js';

async function rejects(promise: Promise<unknown> | (() => unknown), code: CertloopErrorCode): Promise<CertloopError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    if (isCertloopError(err, code)) return err;
    throw new Error(`expected ${code}, got ${String((err as { code?: string }).code ?? err)}`, { cause: err });
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

let pki: TestPki;
let key: KeyPair;

async function csr(request: Partial<Parameters<typeof createCsr>[0]> = {}): Promise<string> {
  return (await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'agent-1' }, ...request })).csrPem;
}

function flipByte(pem: string, fromEnd: number): string {
  const der = pemDecode(pem).der;
  der[der.length - fromEnd]! ^= 0x01;
  return pemEncode('CERTIFICATE REQUEST', der);
}

beforeAll(async () => {
  [pki, key] = await Promise.all([createTestPki('ECDSA-P256'), generateKeyPair({ algorithm: 'ECDSA-P256' })]);
});

describe('LocalCertificateAuthority input checks', () => {
  it('refuses garbage and truncated PEM with CERTLOOP_INVALID_PEM, and broken DER with CERTLOOP_CSR_INVALID', async () => {
    const ca = pki.intermediateCa;
    const sign = (csrPem: string) => ca.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' });
    const good = await csr();
    await rejects(sign('not a pem at all'), 'CERTLOOP_INVALID_PEM');
    await rejects(sign(good.slice(0, good.length / 2)), 'CERTLOOP_INVALID_PEM');
    await rejects(
      sign('-----BEGIN CERTIFICATE REQUEST-----\n%%%%\n-----END CERTIFICATE REQUEST-----\n'),
      'CERTLOOP_INVALID_PEM',
    );
    const der = pemDecode(good).der;
    await rejects(sign(pemEncode('CERTIFICATE REQUEST', der.subarray(0, der.length - 10))), 'CERTLOOP_CSR_INVALID');
    await rejects(sign(pemEncode('CERTIFICATE REQUEST', new Uint8Array([0x30, 3, 2, 1, 0]))), 'CERTLOOP_CSR_INVALID');
    await rejects(sign(pemEncode('CERTIFICATE', der)), 'CERTLOOP_INVALID_PEM');
  });

  it('refuses a CSR whose signature is broken (a flipped byte in the signature or in the signed subject)', async () => {
    const good = await csr();
    const sign = (csrPem: string) => pki.intermediateCa.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' });
    await rejects(sign(flipByte(good, 3)), 'CERTLOOP_CSR_SIGNATURE_INVALID');
    const der = pemDecode(good).der;
    const at = Buffer.from(der).indexOf('agent-1');
    der[at]! ^= 0x20; // "Agent-1": same structure, different signed bytes
    await rejects(sign(pemEncode('CERTIFICATE REQUEST', der)), 'CERTLOOP_CSR_SIGNATURE_INVALID');
  });

  it('refuses an oversize CSR before parsing it', async () => {
    const padded = `${'x'.repeat(DEFAULT_ISSUANCE_POLICY.maxCsrBytes)}\n${await csr()}`;
    await rejects(
      pki.intermediateCa.sign({ csrPem: padded, lifetimeSeconds: 3600, profile: 'client' }),
      'CERTLOOP_INPUT_TOO_LARGE',
    );
  });

  it('refuses a key that does not match the CA certificate, and a leaf certificate as CA', async () => {
    expect(
      () =>
        new LocalCertificateAuthority({
          certificatePem: pki.rootPem,
          privateKeyPem: key.privateKeyPem,
          trustBundlePem: pki.rootPem,
        }),
    ).toThrow(expect.objectContaining({ code: 'CERTLOOP_KEY_MISMATCH' }));
    const leaf = await issueLeaf(pki.intermediateCa, {
      algorithm: 'ECDSA-P256',
      commonName: 'leaf',
      profile: 'server',
      dnsNames: ['a.test'],
      key,
    });
    expect(
      () =>
        new LocalCertificateAuthority({
          certificatePem: leaf.certificatePem,
          privateKeyPem: key.privateKeyPem,
          trustBundlePem: pki.rootPem,
        }),
    ).toThrow(expect.objectContaining({ code: 'CERTLOOP_CA_NOT_A_CA' }));
  });
});

describe('LocalCertificateAuthority policy', () => {
  it('refuses names outside the allowed DNS patterns, IP ranges and URI prefixes, and accepts those inside', async () => {
    const ca = new LocalCertificateAuthority({
      certificatePem: pki.intermediate.certificatePem,
      privateKeyPem: pki.intermediateKey.privateKeyPem,
      trustBundlePem: pki.rootPem,
      policy: {
        allowedDnsNames: ['*.agents.example.test', 'relay.example.test'],
        allowedIpRanges: ['10.0.0.0/8', 'fd00::/8'],
        allowedUris: ['spiffe://certloop.test/agent/*'],
      },
    });
    const sign = async (names: Parameters<typeof csr>[0]) =>
      ca.sign({ csrPem: await csr(names), lifetimeSeconds: 3600, profile: 'client' });
    await expect(
      sign({
        dnsNames: ['a.agents.example.test', 'relay.example.test'],
        ipAddresses: ['10.1.2.3', 'fd00::1'],
        uris: ['spiffe://certloop.test/agent/a'],
      }),
    ).resolves.toMatchObject({ serialNumber: expect.stringMatching(/^[0-9a-f]{32}$/) });
    await rejects(sign({ dnsNames: ['evil.example.test'] }), 'CERTLOOP_POLICY_NAME_REJECTED');
    await rejects(sign({ dnsNames: ['agents.example.test'] }), 'CERTLOOP_POLICY_NAME_REJECTED');
    await rejects(sign({ ipAddresses: ['192.168.1.1'] }), 'CERTLOOP_POLICY_NAME_REJECTED');
    await rejects(sign({ ipAddresses: ['fe80::1'] }), 'CERTLOOP_POLICY_NAME_REJECTED');
    await rejects(sign({ uris: ['spiffe://other.test/agent/a'] }), 'CERTLOOP_POLICY_NAME_REJECTED');
  });

  it('binds the CSR to the caller identity: another CN or an extra SAN is refused', async () => {
    const identity = { commonName: 'agent-1', dnsNames: ['agent-1.example.test'], ipAddresses: ['10.0.0.1'] };
    const sign = async (request: Parameters<typeof csr>[0]) =>
      pki.intermediateCa.sign({ csrPem: await csr(request), lifetimeSeconds: 3600, profile: 'client', identity });
    await expect(sign({ dnsNames: ['AGENT-1.example.test'], ipAddresses: ['10.0.0.1'] })).resolves.toBeDefined();
    await rejects(sign({ subject: { commonName: 'agent-2' } }), 'CERTLOOP_CSR_IDENTITY_MISMATCH');
    await rejects(sign({ dnsNames: ['agent-2.example.test'] }), 'CERTLOOP_CSR_IDENTITY_MISMATCH');
    await rejects(sign({ ipAddresses: ['10.0.0.2'] }), 'CERTLOOP_CSR_IDENTITY_MISMATCH');
    await rejects(sign({ emails: ['a@example.test'] }), 'CERTLOOP_CSR_IDENTITY_MISMATCH');
  });

  it('refuses CA:TRUE under a leaf profile, RSA-1024 keys, unsupported curves and overlong lifetimes', async () => {
    const caCsr = await csr({
      extensions: [{ oid: OID.basicConstraints, critical: true, valueDer: basicConstraintsValue(true) }],
    });
    await rejects(
      pki.intermediateCa.sign({ csrPem: caCsr, lifetimeSeconds: 3600, profile: 'server' }),
      'CERTLOOP_POLICY_PROFILE_REJECTED',
    );

    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const weak = await createCsr({ privateKeyPem: rsa1024 as string, subject: { commonName: 'weak' } });
    await rejects(
      pki.intermediateCa.sign({ csrPem: weak.csrPem, lifetimeSeconds: 3600, profile: 'client' }),
      'CERTLOOP_POLICY_KEY_REJECTED',
    );

    const tooLong = await rejects(
      pki.intermediateCa.sign({ csrPem: await csr(), lifetimeSeconds: 399 * 86_400, profile: 'client' }),
      'CERTLOOP_POLICY_LIFETIME_EXCEEDED',
    );
    // the refusal states the limit (issue 17, item 4)
    expect(tooLong.details).toMatchObject({
      lifetimeSeconds: 399 * 86_400,
      maxLifetimeSeconds: expect.any(Number),
      profile: 'client',
    });
    const dir = await tempDir();
    try {
      const k1 = await dir.write(
        'k1.pem',
        (await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'])).stdout,
      );
      const k1Csr = await openssl(['req', '-new', '-key', k1, '-subj', '/CN=k1']);
      expect(k1Csr.code).toBe(0);
      await rejects(
        pki.intermediateCa.sign({ csrPem: k1Csr.stdout, lifetimeSeconds: 3600, profile: 'client' }),
        'CERTLOOP_POLICY_KEY_REJECTED',
      );
    } finally {
      await dir.remove();
    }
    const edOnly = new LocalCertificateAuthority({
      certificatePem: pki.intermediate.certificatePem,
      privateKeyPem: pki.intermediateKey.privateKeyPem,
      trustBundlePem: pki.rootPem,
      policy: { allowedKeyTypes: ['Ed25519'] },
    });
    await rejects(
      edOnly.sign({ csrPem: await csr(), lifetimeSeconds: 3600, profile: 'client' }),
      'CERTLOOP_POLICY_KEY_REJECTED',
    );
  });

  it('keeps intermediates under the CA path length', async () => {
    const interCsr = await csr({ subject: { commonName: 'sub CA' } });
    await rejects(
      pki.intermediateCa.sign({ csrPem: interCsr, lifetimeSeconds: 3600, profile: 'intermediate' }),
      'CERTLOOP_POLICY_PROFILE_REJECTED',
    );
    await rejects(
      pki.rootCa.sign({ csrPem: interCsr, lifetimeSeconds: 3600, profile: 'intermediate', pathLength: 1 }),
      'CERTLOOP_POLICY_PROFILE_REJECTED',
    );
    await expect(
      pki.rootCa.sign({ csrPem: interCsr, lifetimeSeconds: 3600, profile: 'intermediate', pathLength: 0 }),
    ).resolves.toBeDefined();
  });
});

describe('LocalCertificateAuthority validity', () => {
  async function clockedCa(policy?: { beyondCaNotAfter: 'error' | 'truncate' }) {
    const clock = new ManualClock('2030-06-01T12:00:00.789Z');
    const root = await createSelfSignedCa({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'clocked root' },
      lifetimeSeconds: 30 * 86_400,
      clock,
    });
    const ca = new LocalCertificateAuthority({
      certificatePem: root.certificatePem,
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: root.certificatePem,
      clock,
      ...(policy ? { policy } : {}),
    });
    return { clock, root, ca };
  }

  it('backdates notBefore by 60 s, counts the lifetime from now, in whole seconds', async () => {
    const { ca, root } = await clockedCa();
    expect(root.notBefore.toISOString()).toBe('2030-06-01T11:59:00.000Z');
    const result = await ca.sign({ csrPem: await csr(), lifetimeSeconds: 86_400, profile: 'client' });
    expect(result.notBefore.toISOString()).toBe('2030-06-01T11:59:00.000Z');
    expect(result.notAfter.toISOString()).toBe('2030-06-02T12:00:00.000Z');
    expect(result.chainPem).toBe('');
  });

  it('refuses a lifetime past the CA notAfter, or clamps it in truncate mode', async () => {
    const strict = await clockedCa();
    await rejects(
      strict.ca.sign({ csrPem: await csr(), lifetimeSeconds: 31 * 86_400, profile: 'client' }),
      'CERTLOOP_CA_EXPIRES_TOO_SOON',
    );
    const lenient = await clockedCa({ beyondCaNotAfter: 'truncate' });
    const result = await lenient.ca.sign({ csrPem: await csr(), lifetimeSeconds: 31 * 86_400, profile: 'client' });
    expect(result.notAfter.getTime()).toBe(lenient.root.notAfter.getTime());
    await lenient.clock.advance(31 * 86_400_000);
    await rejects(
      lenient.ca.sign({ csrPem: await csr(), lifetimeSeconds: 3600, profile: 'client' }),
      'CERTLOOP_CA_EXPIRES_TOO_SOON',
    );
  });
});

describe('LocalCertificateAuthority issue and trust bundle', () => {
  it('issues a generated key with its certificate, and honours an aborted signal', async () => {
    const issued = await pki.intermediateCa.issue({
      commonName: 'svc',
      dnsNames: ['svc.example.test'],
      lifetimeSeconds: 3600,
      profile: 'server',
    });
    const { X509Certificate, createPrivateKey } = await import('node:crypto');
    const cert = new X509Certificate(issued.certificatePem);
    expect(cert.checkPrivateKey(createPrivateKey(issued.privateKeyPem))).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:svc.example.test');
    await expect(pki.intermediateCa.trustBundle()).resolves.toBe(pki.rootPem);
    const controller = new AbortController();
    controller.abort();
    await rejects(
      pki.intermediateCa.sign(
        { csrPem: await csr(), lifetimeSeconds: 60, profile: 'client' },
        { signal: controller.signal },
      ),
      'CERTLOOP_ABORTED',
    );
  });
});
