import { X509Certificate } from 'node:crypto';
import { createCsr, createSelfSignedCa, LocalCertificateAuthority, verifyCsr } from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCsr, codeOf, openssl, opensslVerify } from './test-support.js';
import { createSoftHsmToken, type SoftHsmToken } from './testing/index.js';
import { openPkcs11Key, Pkcs11Token } from './token.js';

let hsm: SoftHsmToken;
let token: Pkcs11Token;

beforeAll(async () => {
  hsm = await createSoftHsmToken();
  token = await Pkcs11Token.open({ uri: hsm.uri() });
});
afterAll(() => token?.close());

describe('keys generated on a SoftHSM2 token', () => {
  for (const algorithm of ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072'] as const) {
    it(`${algorithm}: a root and a leaf signed on the token pass openssl verify`, async () => {
      const key = await token.generateKey({ label: `root-${algorithm}`, algorithm });
      expect(key.info.algorithm).toBe(algorithm);
      const root = await createSelfSignedCa({
        privateKeyPem: key,
        subject: { commonName: `hsm root ${algorithm}` },
        lifetimeSeconds: 86_400,
      });
      const ca = new LocalCertificateAuthority({
        certificatePem: root.certificatePem,
        privateKeyPem: key,
        trustBundlePem: root.certificatePem,
      });
      const leaf = await ca.sign({
        csrPem: (await agentCsr('agent-1')).csrPem,
        lifetimeSeconds: 3600,
        profile: 'client',
      });
      expect(await opensslVerify({ rootsPem: root.certificatePem, leafPem: leaf.certificatePem })).toContain(': OK');
      expect(new X509Certificate(leaf.certificatePem).checkIssued(new X509Certificate(root.certificatePem))).toBe(true);
    });
  }

  it('a CSR signed on the token passes openssl req -verify and certloop verifyCsr', async () => {
    const key = await token.generateKey({ label: 'csr-key', algorithm: 'ECDSA-P384' });
    const { csrPem } = await createCsr({ privateKeyPem: key, subject: { commonName: 'hsm intermediate' } });
    expect(await verifyCsr(csrPem)).toBe(true);
    await openssl(['req', '-verify', '-noout'], csrPem);
  });

  it('pkcs11-tool shows a generated key private, sensitive, never extractable, for signing only', async () => {
    await token.generateKey({ label: 'inspected', algorithm: 'ECDSA-P256' });
    const out = await hsm.pkcs11Tool(['--list-objects', '--type', 'privkey', '--label', 'inspected']);
    expect(out).toMatch(/Private Key Object; EC/);
    expect(out).toMatch(/Access:\s+sensitive, always sensitive, never extractable/);
    expect(out).toMatch(/Usage:\s+sign\s*$/m);
    expect(out).not.toMatch(/Access:[^\n]*(?<!never )extractable/);
    const attributes = await token.keyAttributes({ label: 'inspected' });
    expect(attributes).toEqual({
      token: true,
      private: true,
      sensitive: true,
      extractable: false,
      alwaysSensitive: true,
      neverExtractable: true,
      sign: true,
    });
  });

  it('finds a key by label or by id, and reads the same public half back', async () => {
    const made = await token.generateKey({ label: 'by-id', id: new Uint8Array([0xca, 0xfe]), algorithm: 'ECDSA-P256' });
    const byLabel = await token.key({ label: 'by-id' });
    const byId = await token.key({ id: new Uint8Array([0xca, 0xfe]) });
    expect(Buffer.from(byLabel.spkiDer).equals(Buffer.from(made.spkiDer))).toBe(true);
    expect(Buffer.from(byId.spkiDer).equals(Buffer.from(made.spkiDer))).toBe(true);
    expect(byId.uri).toBe(`pkcs11:token=${hsm.label};object=by-id;id=%CA%FE;type=private`);
    const { token: other, key } = await openPkcs11Key({ uri: `${hsm.uri({ object: 'by-id' })}` });
    try {
      expect(Buffer.from(key.spkiDer).equals(Buffer.from(made.spkiDer))).toBe(true);
    } finally {
      other.close();
    }
  });

  it('keeps the CA certificate on the token beside its key and reads it back', async () => {
    const key = await token.generateKey({ label: 'with-cert', algorithm: 'ECDSA-P256' });
    const root = await createSelfSignedCa({
      privateKeyPem: key,
      subject: { commonName: 'kept' },
      lifetimeSeconds: 3600,
    });
    await token.writeCertificate({ label: 'with-cert', id: key.id, certificatePem: root.certificatePem });
    expect((await token.readCertificate({ label: 'with-cert' }))?.trim()).toBe(root.certificatePem.trim());
    expect(await token.readCertificate({ label: 'absent' })).toBeUndefined();
  });

  it('refuses a second key under a label, and an algorithm it does not make', async () => {
    await token.generateKey({ label: 'twice' });
    expect(await codeOf(token.generateKey({ label: 'twice' }))).toBe('CERTLOOP_CONFLICT');
    expect(await codeOf(token.generateKey({ label: 'ed', algorithm: 'Ed25519' }))).toBe(
      'CERTLOOP_UNSUPPORTED_ALGORITHM',
    );
    expect((await token.ensureKey({ label: 'twice' })).label).toBe('twice');
  });

  it('finds the key that matches a public key (a CA certificate), passing over others', async () => {
    const a = await token.generateKey({ label: 'match-a', algorithm: 'ECDSA-P256' });
    const b = await token.generateKey({ label: 'match-b', algorithm: 'RSA-2048' });
    expect((await token.keyForPublicKey(b.spkiDer))?.label).toBe('match-b');
    expect((await token.keyForPublicKey(a.spkiDer))?.label).toBe('match-a');
    const other = await agentCsr('x');
    expect(await token.keyForPublicKey(new Uint8Array(Buffer.from(other.privateKeyPem)))).toBeUndefined();
  });

  it('destroys a key pair', async () => {
    await token.generateKey({ label: 'doomed' });
    expect(await token.destroyKey({ label: 'doomed' })).toBe(true);
    expect(await token.findKey({ label: 'doomed' })).toBeUndefined();
    expect(await token.destroyKey({ label: 'doomed' })).toBe(false);
  });
});
