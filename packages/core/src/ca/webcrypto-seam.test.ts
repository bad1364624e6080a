import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebCryptoEngine } from '../x509/crypto-engine.js';
import type { KeyAlgorithm } from '../x509/types.js';
import { createTestPki, issueLeaf, openssl, type TempDir, tempDir } from './test-support.js';

// @peculiar/webcrypto implements Ed25519 as well, so every family goes through the seam.
const ALGORITHMS: readonly KeyAlgorithm[] = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'Ed25519'];

let dir: TempDir;

beforeAll(async () => {
  dir = await tempDir('certloop-webcrypto-');
});

afterAll(async () => {
  await dir.remove();
});

describe.each([
  [
    '@peculiar/webcrypto',
    async () => createWebCryptoEngine(new (await import('@peculiar/webcrypto')).Crypto() as never),
  ],
  ["Node's globalThis.crypto", async () => createWebCryptoEngine(globalThis.crypto)],
])('issuing through a WebCrypto engine (%s)', (_name, makeEngine) => {
  it.each(ALGORITHMS)(
    '%s: keys, CSR, root, intermediate and leaf all made by the engine; openssl verifies',
    async (algorithm) => {
      const engine = await makeEngine();
      const pki = await createTestPki(algorithm, { engine });
      const leaf = await issueLeaf(pki.intermediateCa, {
        algorithm,
        commonName: 'webcrypto-agent',
        profile: 'server+client',
        dnsNames: ['webcrypto.example.test'],
        engine,
      });
      const prefix = `${_name.replace(/\W+/g, '-')}-${algorithm}`;
      const root = await dir.write(`${prefix}-root.pem`, pki.rootPem);
      const inter = await dir.write(`${prefix}-inter.pem`, pki.intermediate.certificatePem);
      const leafFile = await dir.write(`${prefix}-leaf.pem`, leaf.certificatePem);
      const csrFile = await dir.write(`${prefix}.csr`, leaf.csrPem);
      const verify = await openssl(['verify', '-x509_strict', '-CAfile', root, '-untrusted', inter, leafFile]);
      expect(verify.stdout.trim()).toBe(`${leafFile}: OK`);
      expect((await openssl(['req', '-verify', '-noout', '-in', csrFile])).code).toBe(0);
      const cert = new X509Certificate(leaf.certificatePem);
      expect(cert.verify(new X509Certificate(pki.intermediate.certificatePem).publicKey)).toBe(true);
      expect(cert.subjectAltName).toBe('DNS:webcrypto.example.test');
    },
  );
});
