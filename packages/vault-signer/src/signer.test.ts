import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:tls';
import { isKeyIssuingAuthority, type KeyAlgorithm } from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultSignerEvent } from './events.js';
import { codeOf, makeCsr, opensslVerify, type PkiFixture, pkiFixture } from './test-support.js';

let fx: PkiFixture;

beforeAll(async () => {
  fx = await pkiFixture();
});
afterAll(async () => {
  await fx.close();
});

describe('VaultCertificateAuthority.sign', () => {
  const algorithms: KeyAlgorithm[] = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'Ed25519'];
  for (const algorithm of algorithms) {
    it(`signs a ${algorithm} CSR; the chain passes openssl verify`, async () => {
      const signer = await fx.signer();
      const csr = await makeCsr({ commonName: 'agent-1', dnsNames: ['agent-1.example'] }, algorithm);
      const result = await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 3600, profile: 'client' });
      const leaf = new X509Certificate(result.certificatePem);
      expect(leaf.subject).toBe('CN=agent-1');
      expect(leaf.subjectAltName).toBe('DNS:agent-1.example');
      expect(result.serialNumber).toBe(leaf.serialNumber.toLowerCase().replace(/^0+/, ''));
      expect(result.notAfter.getTime()).toBe(new Date(leaf.validTo).getTime());
      expect(result.notAfter.getTime() - result.notBefore.getTime()).toBe((3600 + 30) * 1000);
      // the chain stops below the root; the trust bundle is the root
      expect(result.chainPem).toContain('BEGIN CERTIFICATE');
      expect(result.chainPem.trim()).toBe(fx.pki.intermediatePem.trim());
      expect(result.trustBundlePem.trim()).toBe(fx.pki.rootPem.trim());
      const out = opensslVerify({
        rootsPem: result.trustBundlePem,
        chainPem: result.chainPem,
        leafPem: result.certificatePem,
        purpose: 'sslclient',
      });
      expect(out).toContain(': OK');
    });
  }

  it('keeps the root in the chain when configured', async () => {
    const signer = await fx.signer({ includeRootInChain: true });
    const csr = await makeCsr({ commonName: 'agent-2' });
    const result = await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    expect(result.chainPem).toContain(fx.pki.rootPem.split('\n')[1]);
  });

  it('signs through an issuer named in the path', async () => {
    const signer = await fx.signer({ issuer: 'default' });
    const csr = await makeCsr({ commonName: 'agent-3' });
    const result = await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    expect(fx.emulator.requests.some((r) => r.path === `${fx.pki.mount}/issuer/default/sign/${fx.pki.role}`)).toBe(
      true,
    );
    expect(result.trustBundlePem.trim()).toBe(fx.pki.rootPem.trim());
  });

  it('sends the Enterprise namespace header when configured', async () => {
    const signer = await fx.signer({ namespace: 'team-a' });
    const csr = await makeCsr({ commonName: 'agent-ns' });
    await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    const signs = fx.emulator.requests.filter((r) => r.path.endsWith(`/sign/${fx.pki.role}`));
    expect(signs[signs.length - 1]?.namespace).toBe('team-a');
  });

  it('a TLS handshake with an issued server pair succeeds', async () => {
    const signer = await fx.signer();
    const server = await makeCsr({ commonName: 'relay-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const client = await makeCsr({ commonName: 'agent-tls' }, 'RSA-2048');
    const s = await signer.sign({ csrPem: server.csrPem, lifetimeSeconds: 3600, profile: 'server' });
    const c = await signer.sign({ csrPem: client.csrPem, lifetimeSeconds: 3600, profile: 'client' });
    const tlsServer = createServer({
      key: server.privateKeyPem,
      cert: s.certificatePem + s.chainPem,
      ca: s.trustBundlePem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    tlsServer.on('secureConnection', (socket) => socket.end('hello'));
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const port = (tlsServer.address() as { port: number }).port;
    try {
      const socket = connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: c.trustBundlePem,
        key: client.privateKeyPem,
        cert: c.certificatePem + c.chainPem,
      });
      const [data] = await once(socket, 'data');
      expect(String(data)).toBe('hello');
      expect(socket.authorized).toBe(true);
      socket.destroy();
    } finally {
      tlsServer.close();
    }
  });

  it('reports Vault warnings and a capped lifetime as events; the lifetime is what the certificate says', async () => {
    const events: VaultSignerEvent[] = [];
    const signer = await fx.signer({ sendCsrNames: true });
    signer.subscribe((e) => events.push(e));
    const csr = await makeCsr({ commonName: 'agent-4' });
    const result = await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 1000 * 3600, profile: 'client' });
    const warning = events.find((e) => e.type === 'warning');
    expect(warning?.type === 'warning' && warning.warnings).toEqual([
      'the common_name field was provided but the role is set with "use_csr_common_name" set to true',
      'TTL "1000h0m0s" is longer than permitted maxTTL "720h0m0s", so maxTTL is being used',
    ]);
    const shortened = events.find((e) => e.type === 'lifetime-shortened');
    const issued = shortened?.type === 'lifetime-shortened' ? shortened.issuedSeconds : 0;
    expect(issued).toBeGreaterThanOrEqual(720 * 3600 - 2); // measured from now, after the round trip
    expect(issued).toBeLessThanOrEqual(720 * 3600);
    expect(result.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(720 * 3600 * 1000);
  });

  it('checks core identity binding before asking Vault', async () => {
    const signer = await fx.signer();
    const before = fx.emulator.requests.length;
    const csr = await makeCsr({ commonName: 'agent-5', dnsNames: ['evil.example'] });
    const code = await codeOf(() =>
      signer.sign({
        csrPem: csr.csrPem,
        lifetimeSeconds: 600,
        profile: 'client',
        identity: { commonName: 'agent-5', dnsNames: [] },
      }),
    );
    expect(code).toBe('CERTLOOP_CSR_IDENTITY_MISMATCH');
    expect(fx.emulator.requests.length).toBe(before);
  });

  it('a CSR whose signature does not verify: Vault refuses it, the caller gets CERTLOOP_CSR_INVALID', async () => {
    const signer = await fx.signer();
    const csr = await makeCsr({ commonName: 'agent-6' });
    const der = Buffer.from(csr.csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] ^= 0x01; // inside the signature value: still well-formed DER
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const err = await signer.sign({ csrPem: pem, lifetimeSeconds: 600, profile: 'client' }).then(
      () => undefined,
      (e: { code: string; details?: Record<string, unknown> }) => e,
    );
    expect(err?.code).toBe('CERTLOOP_CSR_INVALID');
    expect(err?.details?.vaultMessage).toBe('request signature invalid');
  });

  it('refuses the intermediate profile and a bad lifetime', async () => {
    const signer = await fx.signer();
    const csr = await makeCsr({ commonName: 'sub-ca' });
    expect(await codeOf(() => signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'intermediate' }))).toBe(
      'CERTLOOP_POLICY_PROFILE_REJECTED',
    );
    expect(await codeOf(() => signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 0, profile: 'client' }))).toBe(
      'CERTLOOP_INVALID_ARGUMENT',
    );
  });
});

describe('VaultCertificateAuthority.issue and trustBundle', () => {
  it('is a KeyIssuingAuthority: Vault generates the key, the signer checks the pair', async () => {
    await fx.role('issuing', { allow_any_name: true, key_type: 'ec', max_ttl: '720h' });
    const signer = await fx.signer({ role: 'issuing' });
    expect(isKeyIssuingAuthority(signer)).toBe(true);
    const issued = await signer.issue({
      commonName: 'agent-7',
      dnsNames: ['agent-7.example'],
      lifetimeSeconds: 600,
      profile: 'server+client',
    });
    expect(issued.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    const leaf = new X509Certificate(issued.certificatePem);
    expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(issued.privateKeyPem))).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:agent-7.example');
    expect(
      opensslVerify({ rootsPem: issued.trustBundlePem, chainPem: issued.chainPem, leafPem: issued.certificatePem }),
    ).toContain(': OK');
  });

  it('reads the trust bundle once and caches it', async () => {
    const signer = await fx.signer();
    const before = fx.emulator.requests.filter((r) => r.path.endsWith('cert/ca_chain')).length;
    const first = await signer.trustBundle();
    const second = await signer.trustBundle();
    expect(first).toBe(second);
    expect(first.trim()).toBe(fx.pki.rootPem.trim());
    expect(fx.emulator.requests.filter((r) => r.path.endsWith('cert/ca_chain')).length).toBe(before + 1);
  });

  it('reads issuer/{ref}/json when an issuer is configured', async () => {
    const signer = await fx.signer({ issuer: 'default' });
    expect((await signer.trustBundle()).trim()).toBe(fx.pki.rootPem.trim());
    expect(fx.emulator.requests.some((r) => r.path === `${fx.pki.mount}/issuer/default/json`)).toBe(true);
  });
});
