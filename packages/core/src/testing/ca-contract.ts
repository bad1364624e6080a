/**
 * `@certloop/core/testing` CertificateAuthority contract suite: what every CA must do the same way, whatever holds
 * its key (`LocalCertificateAuthority` with a PEM key or a key on a PKCS#11 token, Vault's PKI engine), as vitest
 * tests. A CA's test file calls {@link describeCertificateAuthorityContract} with a factory.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateAuthority } from '../ca/types.js';
import { validateChain } from '../x509/chain.js';
import { createCsr } from '../x509/csr.js';
import { generateKeyPair } from '../x509/keys.js';
import { splitPemBundle } from '../x509/pem.js';
import { rejectionCode } from './store-contract.js';

export interface CertificateAuthorityContractSubject {
  /** The CA under test, able to sign `client` certificates for any CN under `example.test`-free names. */
  readonly ca: CertificateAuthority;
  /** Runs once after the suite (close the CA, stop emulators, close tokens). */
  readonly cleanup?: () => Promise<void> | void;
}

async function csrFor(commonName: string, dnsNames: string[] = []) {
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName }, dnsNames });
  const publicKeyPem = key.publicKeyPem;
  return { csrPem, publicKeyPem };
}

/** Registers the CertificateAuthority contract tests under `describe('CertificateAuthority contract: <name>')`. */
export function describeCertificateAuthorityContract(
  name: string,
  factory: () => Promise<CertificateAuthorityContractSubject>,
): void {
  describe(`CertificateAuthority contract: ${name}`, () => {
    let subject: CertificateAuthorityContractSubject;
    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject?.cleanup?.();
    });

    it('signs a client CSR: the leaf carries its key and name, chains to the trust bundle, and the result says so', async () => {
      const { csrPem, publicKeyPem } = await csrFor('contract-agent-1');
      const result = await subject.ca.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' });
      const leaf = new X509Certificate(result.certificatePem);
      expect(leaf.subject).toContain('CN=contract-agent-1');
      expect(leaf.publicKey.export({ type: 'spki', format: 'pem' })).toBe(publicKeyPem);
      expect(leaf.ca).toBe(false);
      expect(result.notAfter.getTime()).toBe(new Date(leaf.validTo).getTime());
      expect(result.notBefore.getTime()).toBe(new Date(leaf.validFrom).getTime());
      expect(result.notAfter.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
      expect(BigInt(`0x${result.serialNumber}`)).toBe(BigInt(`0x${leaf.serialNumber}`));
      const checked = await validateChain({
        leafPem: result.certificatePem,
        intermediatesPem: result.chainPem,
        trustBundlePem: result.trustBundlePem,
        usage: 'clientAuth',
      });
      expect(checked.chain.length).toBeGreaterThanOrEqual(2);
      expect(splitPemBundle(await subject.ca.trustBundle())).toEqual(splitPemBundle(result.trustBundlePem));
    });

    it('signs concurrent requests, each with its own serial', async () => {
      const csrs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => csrFor(`contract-agent-c${i}`)));
      const results = await Promise.all(
        csrs.map(({ csrPem }) => subject.ca.sign({ csrPem, lifetimeSeconds: 600, profile: 'client' })),
      );
      expect(new Set(results.map((r) => r.serialNumber)).size).toBe(csrs.length);
    });

    it('refuses a CSR whose name is not the identity the caller authenticated as', async () => {
      const { csrPem } = await csrFor('someone-else');
      const code = await rejectionCode(
        subject.ca.sign({
          csrPem,
          lifetimeSeconds: 600,
          profile: 'client',
          identity: { commonName: 'contract-agent-2' },
        }),
      );
      expect(code).toBe('CERTLOOP_CSR_IDENTITY_MISMATCH');
    });

    it('refuses what is not a CSR with a typed error', async () => {
      const code = await rejectionCode(
        subject.ca.sign({
          csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
          lifetimeSeconds: 600,
          profile: 'client',
        }),
      );
      expect(code).toMatch(/^CERTLOOP_(CSR_INVALID|INVALID_PEM|INVALID_DER)$/);
    });

    it('honours an aborted signal: CERTLOOP_ABORTED, nothing signed', async () => {
      const { csrPem } = await csrFor('contract-agent-3');
      const code = await rejectionCode(
        subject.ca.sign({ csrPem, lifetimeSeconds: 600, profile: 'client' }, { signal: AbortSignal.abort() }),
      );
      expect(code).toBe('CERTLOOP_ABORTED');
    });
  });
}
