import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertloopError } from '../errors.js';
import { validateChain } from '../x509/chain.js';
import { createCsr, verifyCsr } from '../x509/csr.js';
import { generateKeyPair } from '../x509/keys.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import { LocalCertificateAuthority } from './local-ca.js';
import { code, openssl, type TempDir, tempDir } from './test-support.js';

let tmp: TempDir;
let root: { certificatePem: string; privateKeyPem: string };
let rootCa: LocalCertificateAuthority;
let signing: LocalCertificateAuthority;

const RELAY_NAMES = { permitted: { dnsNames: ['relay.example'], ipRanges: ['127.0.0.0/8'] } };

beforeAll(async () => {
  tmp = await tempDir('certloop-constrained-');
  const rootKey = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const rootCert = await createSelfSignedCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { commonName: 'constrained root' },
    lifetimeSeconds: 10 * 365 * 86_400,
  });
  root = { certificatePem: rootCert.certificatePem, privateKeyPem: rootKey.privateKeyPem };
  rootCa = new LocalCertificateAuthority({
    ...root,
    trustBundlePem: root.certificatePem,
    policy: { intermediateNameConstraints: RELAY_NAMES },
  });
  const intKey = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({ privateKeyPem: intKey.privateKeyPem, subject: { commonName: 'relay signing' } });
  const intermediate = await rootCa.sign({ csrPem, lifetimeSeconds: 365 * 86_400, profile: 'intermediate' });
  signing = new LocalCertificateAuthority({
    certificatePem: intermediate.certificatePem,
    privateKeyPem: intKey.privateKeyPem,
    trustBundlePem: root.certificatePem,
  });
});

afterAll(async () => {
  await tmp.remove();
});

describe('name constraints at issuance', () => {
  it('policy.intermediateNameConstraints puts a critical nameConstraints extension on issued intermediates', async () => {
    const file = await tmp.write('int.pem', signing.certificatePem);
    const text = await openssl(['x509', '-in', file, '-noout', '-text']);
    expect(text.stdout).toMatch(
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:relay\.example\s+IP:127\.0\.0\.0\/255\.0\.0\.0/,
    );
  });

  it('a CA refuses, before signing, a leaf outside its own name constraints; inside ones pass certloop and openssl', async () => {
    const ok = await signing.issue({
      commonName: 'agent-1',
      dnsNames: ['agent-1.relay.example'],
      ipAddresses: ['127.0.0.1'],
      lifetimeSeconds: 86_400,
      profile: 'server+client',
    });
    const result = await validateChain({
      leafPem: ok.certificatePem,
      intermediatesPem: ok.chainPem,
      trustBundlePem: root.certificatePem,
      usage: 'clientAuth',
    });
    expect(result.chain).toHaveLength(3);
    const leaf = await tmp.write('ok.pem', ok.certificatePem);
    const chain = await tmp.write('chain.pem', ok.chainPem);
    const roots = await tmp.write('root.pem', root.certificatePem);
    expect((await openssl(['verify', '-CAfile', roots, '-untrusted', chain, leaf])).code).toBe(0);

    const outside = [
      { commonName: 'agent-2', dnsNames: ['agent-2.evil.test'] },
      { commonName: 'agent-3', ipAddresses: ['10.0.0.1'] },
      // a hostname-like CN with no DNS SAN is checked as a DNS name
      { commonName: 'agent-4.evil.test' },
    ];
    for (const names of outside) {
      const err = await signing
        .issue({ ...names, lifetimeSeconds: 86_400, profile: 'client' })
        .catch((e: CertloopError) => e);
      expect((err as CertloopError).code).toBe('CERTLOOP_POLICY_NAME_REJECTED');
      expect((err as CertloopError).details).toMatchObject({ constraintCode: 'CERTLOOP_CHAIN_NAME_CONSTRAINTS' });
    }
  });

  it('refuses every name a TLS client would match in an excluded subtree: wildcards anywhere, trailing dots, the CN (issue 14)', async () => {
    const evilRoot = new LocalCertificateAuthority({
      ...root,
      trustBundlePem: root.certificatePem,
      policy: {
        intermediateNameConstraints: {
          permitted: { dnsNames: ['relay.example'] },
          excluded: { dnsNames: ['evil.relay.example'] },
        },
      },
    });
    const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'evil-excluding' } });
    const int = await evilRoot.sign({ csrPem, lifetimeSeconds: 86_400, profile: 'intermediate' });
    const ca = new LocalCertificateAuthority({
      certificatePem: int.certificatePem,
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: root.certificatePem,
    });
    // The name policy already refuses partial wildcards and trailing dots in SANs; the constraint check refuses
    // what passes it (whole-label wildcards) and the CN, which no policy reads.
    for (const names of [{ dnsNames: ['ev*.relay.example'] }, { dnsNames: ['evil.relay.example.'] }]) {
      expect(await code(ca.issue({ commonName: 'a', ...names, lifetimeSeconds: 3600, profile: 'server' }))).toBe(
        'CERTLOOP_POLICY_NAME_REJECTED',
      );
    }
    const refused = [
      { commonName: 'a', dnsNames: ['*.relay.example'] },
      { commonName: 'a', dnsNames: ['*.evil.relay.example'] },
      { commonName: '*.relay.example' },
      { commonName: 'ev*.relay.example' },
      { commonName: 'EVIL.relay.example.' },
      { commonName: 'e*l.relay.example', ipAddresses: ['127.0.0.1'] },
      // a server leaf's single-label CN matches that host, outside the permitted domain
      { commonName: 'localhost' },
    ];
    for (const names of refused) {
      const err = await ca.issue({ ...names, lifetimeSeconds: 3600, profile: 'server' }).catch((e: CertloopError) => e);
      expect((err as CertloopError).code, names.commonName).toBe('CERTLOOP_POLICY_NAME_REJECTED');
      expect((err as CertloopError).details).toMatchObject({ constraintCode: 'CERTLOOP_CHAIN_NAME_CONSTRAINTS' });
    }
    for (const names of [
      { commonName: 'go*.relay.example' },
      { commonName: 'a', dnsNames: ['*.good.relay.example'] },
    ]) {
      const ok = await ca.issue({ ...names, lifetimeSeconds: 3600, profile: 'server' });
      await validateChain({
        leafPem: ok.certificatePem,
        intermediatesPem: ok.chainPem,
        trustBundlePem: root.certificatePem,
      });
    }
    // a client-only leaf's single-label CN is no server name
    await ca.issue({ commonName: 'agent-7', lifetimeSeconds: 3600, profile: 'client' });
  });

  it('refuses a configuration that names no subtree', () => {
    expect(
      () =>
        new LocalCertificateAuthority({
          ...root,
          trustBundlePem: root.certificatePem,
          policy: { intermediateNameConstraints: {} },
        }),
    ).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });
});

describe('key-size floors at issuance', () => {
  it('RSA below 2048 in a CSR is refused by verifyCsr and by the CA; the floor cannot be configured lower', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const keyFile = `${tmp.path}/rsa1024.key`;
    await run('/usr/bin/openssl', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:1024',
      '-out',
      keyFile,
    ]);
    const { stdout: csrPem } = await run('/usr/bin/openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=weak'], {
      encoding: 'utf8',
    });
    expect(await code(verifyCsr(csrPem))).toBe('CERTLOOP_CSR_INVALID');
    expect(await code(signing.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' }))).toBe(
      'CERTLOOP_POLICY_KEY_REJECTED',
    );
    expect(await code(verifyCsr(csrPem, { minRsaBits: 1024 }))).toBe('CERTLOOP_INVALID_ARGUMENT');
    expect(
      () =>
        new LocalCertificateAuthority({ ...root, trustBundlePem: root.certificatePem, policy: { minRsaBits: 1024 } }),
    ).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });

  it('a P-521 CSR is issued and the chain validates; an explicit-parameters CSR is refused', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const csrFor = async (name: string, pkeyopts: string[]) => {
      const keyFile = `${tmp.path}/${name}.key`;
      await run('/usr/bin/openssl', [
        'genpkey',
        '-algorithm',
        'EC',
        ...pkeyopts.flatMap((o) => ['-pkeyopt', o]),
        '-out',
        keyFile,
      ]);
      const { stdout } = await run('/usr/bin/openssl', ['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`], {
        encoding: 'utf8',
      });
      return stdout;
    };
    const p521 = await csrFor('p521', ['ec_paramgen_curve:P-521']);
    const issued = await signing.sign({ csrPem: p521, lifetimeSeconds: 3600, profile: 'client' });
    const chain = await validateChain({
      leafPem: issued.certificatePem,
      intermediatesPem: issued.chainPem,
      trustBundlePem: root.certificatePem,
      usage: 'clientAuth',
    });
    expect(chain.chain[0]!.publicKey).toMatchObject({ type: 'ECDSA', curve: 'P-521' });
    const explicit = await csrFor('explicit', ['ec_paramgen_curve:P-256', 'ec_param_enc:explicit']);
    expect(await code(signing.sign({ csrPem: explicit, lifetimeSeconds: 3600, profile: 'client' }))).toBe(
      'CERTLOOP_POLICY_KEY_REJECTED',
    );
  });
});
