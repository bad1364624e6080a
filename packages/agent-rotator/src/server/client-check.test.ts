/**
 * certloop's own per-call check of client certificates (beside TLS): chain, clientAuth, validity on the injected
 * clock, the cache keyed by the certificate's bytes, and revocation (the signing CA's CRL, kept for a replaced
 * issuer) that no cached verdict hides.
 */
import {
  bootstrapRelayPki,
  type EngineVerifyRequest,
  inspectCertificate,
  isRevokingAuthority,
  ManualClock,
  MemorySecretStore,
  nodeCryptoEngine,
  pemDecode,
  readTlsMaterial,
} from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { describe, expect, it } from 'vitest';
import { ClientCertificateCheck } from './client-check.js';

const auth = (pem: string) => ({ sslPeerCertificate: { raw: Buffer.from(pemDecode(pem).der) } });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (err: { code?: string }) => err.code ?? 'unknown',
  );
}

describe('ClientCertificateCheck', () => {
  it('accepts a client certificate of the trusted CA and names its identity', async () => {
    const clock = new ManualClock(new Date());
    const pki = await createTestPki({ clock });
    const check = new ClientCertificateCheck({ clock });
    await check.setTrust({ trustBundlePem: pki.trustBundlePem, intermediatesPem: pki.ca.certificatePem });
    const leaf = await pki.issue({ commonName: 'cluster-1', dnsNames: ['cluster-1'], profile: 'client' });
    const checked = await check.check(auth(leaf.leafPem));
    expect(checked).toMatchObject({ cluster: 'cluster-1', serialNumber: leaf.serialNumber });
    expect(checked.identity).toEqual({ commonName: 'cluster-1', dnsNames: ['cluster-1'], ipAddresses: [], uris: [] });
  });

  it('refuses no certificate, serverAuth-only, a foreign CA and an expired certificate with their codes', async () => {
    const clock = new ManualClock(new Date());
    const pki = await createTestPki({ clock });
    const foreign = await createTestPki({ clock });
    const check = new ClientCertificateCheck({ clock });
    await check.setTrust({ trustBundlePem: pki.trustBundlePem, intermediatesPem: pki.ca.certificatePem });
    expect(await codeOf(check.check(undefined))).toBe('CERTLOOP_UNAUTHENTICATED');
    expect(await codeOf(check.check({}))).toBe('CERTLOOP_UNAUTHENTICATED');
    const serverOnly = await pki.issue({ commonName: 'cluster-1', profile: 'server' });
    expect(await codeOf(check.check(auth(serverOnly.leafPem)))).toBe('CERTLOOP_CHAIN_EXT_KEY_USAGE');
    const stranger = await foreign.issue({ commonName: 'cluster-1', profile: 'client' });
    expect(await codeOf(check.check(auth(stranger.leafPem)))).toBe('CERTLOOP_CHAIN_UNTRUSTED');
    const leaf = await pki.issue({ commonName: 'cluster-1', profile: 'client', lifetimeSeconds: 3600 });
    expect(await codeOf(check.check(auth(leaf.leafPem)))).toBe('resolved');
    await clock.advance(2 * 3600 * 1000);
    // the cached verdict holds only inside the path's validity
    expect(await codeOf(check.check(auth(leaf.leafPem)))).toBe('CERTLOOP_CHAIN_EXPIRED');
  });

  it('validates each certificate once, shares an in-flight check, bounds the cache and forgets it on new trust', async () => {
    const clock = new ManualClock(new Date());
    const pki = await createTestPki({ clock });
    const other = await createTestPki({ clock });
    const check = new ClientCertificateCheck({ clock, cacheSize: 2 });
    await check.setTrust({ trustBundlePem: pki.trustBundlePem, intermediatesPem: pki.ca.certificatePem });
    const leaves = await Promise.all(
      ['a', 'b', 'c'].map((cn) => pki.issue({ commonName: `cluster-${cn}`, profile: 'client' })),
    );
    const [one, two] = await Promise.all([
      check.check(auth(leaves[0]!.leafPem)),
      check.check(auth(leaves[0]!.leafPem)),
    ]);
    expect(one).toBe(two);
    expect(await check.check(auth(leaves[0]!.leafPem))).toBe(one);
    await check.check(auth(leaves[1]!.leafPem));
    await check.check(auth(leaves[2]!.leafPem));
    expect(check.cachedCertificates).toBe(2);
    // a new trust bundle: earlier verdicts are gone, and the old CA's certificates no longer pass
    await check.setTrust({ trustBundlePem: other.trustBundlePem, intermediatesPem: other.ca.certificatePem });
    expect(check.cachedCertificates).toBe(0);
    expect(await codeOf(check.check(auth(leaves[0]!.leafPem)))).toBe('CERTLOOP_CHAIN_UNTRUSTED');
  });

  it("refuses a revoked certificate from the CRL on, keeps a replaced issuer's CRL, and bounds verdicts by the CRL", async () => {
    const clock = new ManualClock(new Date());
    const store = new MemorySecretStore();
    const { signingCa, trustBundlePem, names } = await bootstrapRelayPki({ store, clock });
    if (!isRevokingAuthority(signingCa)) throw new Error('the bootstrapped signing CA revokes');
    const signing = readTlsMaterial((await store.get(names.signing))!);
    const check = new ClientCertificateCheck({ clock, crlGraceSeconds: 60 });
    await check.setTrust({ trustBundlePem, intermediatesPem: signing.certificatePem });
    const issue = (commonName: string) =>
      signingCa.issue({ commonName, profile: 'client', lifetimeSeconds: 30 * 86_400 });
    const [revoked, kept] = await Promise.all([issue('cluster-r'), issue('cluster-k')]);
    const revokedAuth = auth(revoked.certificatePem);
    const keptAuth = auth(kept.certificatePem);
    const checkedRevoked = await check.check(revokedAuth); // a good verdict, cached
    expect(check.setCrl(undefined)).toBe(false);

    await signingCa.revoke({ serialNumber: revoked.serialNumber });
    const crlPem = (await signingCa.currentCrl())!;
    expect(check.setCrl(crlPem)).toBe(true);
    expect(check.setCrl(crlPem)).toBe(false);
    expect(check.cachedCertificates).toBe(0);
    expect(check.isRevoked(checkedRevoked)).toBe(true);
    expect(await codeOf(check.check(revokedAuth))).toBe('CERTLOOP_CHAIN_REVOKED');
    const checkedKept = await check.check(keptAuth);
    expect(check.isRevoked(checkedKept)).toBe(false);

    // an unreadable CRL changes nothing
    expect(() => check.setCrl('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n')).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_CRL_INVALID' }),
    );
    expect(check.currentCrl?.crlNumber).toBeDefined();
    expect(await codeOf(check.check(revokedAuth))).toBe('CERTLOOP_CHAIN_REVOKED');

    // past the current CRL's nextUpdate plus the grace, even the cached good verdict stops holding
    const nextUpdate = check.currentCrl!.nextUpdate!.getTime();
    await clock.advanceTo(nextUpdate + 61_000);
    expect(await codeOf(check.check(keptAuth))).toBe('CERTLOOP_CHAIN_CRL_EXPIRED');

    // the signing secret moves to an issuer without a CRL: the old one is kept as retired (revocations still
    // refused, its nextUpdate no longer enforced, since nobody republishes it)
    expect(check.setCrl(undefined)).toBe(true);
    expect(check.heldCrls).toBe(1);
    expect(check.currentCrl).toBeUndefined();
    expect(await codeOf(check.check(revokedAuth))).toBe('CERTLOOP_CHAIN_REVOKED');
    expect(await codeOf(check.check(keptAuth))).toBe('resolved');
  });

  it('gives a certificate remembered at issuance the verdict of a full validation, and checks others the long way', async () => {
    const clock = new ManualClock(new Date());
    const store = new MemorySecretStore();
    const { signingCa, trustBundlePem, names } = await bootstrapRelayPki({ store, clock });
    const signing = readTlsMaterial((await store.get(names.signing))!);
    const trust = { trustBundlePem, intermediatesPem: signing.certificatePem };
    // the remembering check's signature verifications, counted: an adopted certificate needs none
    let verified = 0;
    const engine = {
      ...nodeCryptoEngine,
      verify: (request: EngineVerifyRequest) => {
        verified++;
        return nodeCryptoEngine.verify(request);
      },
    };
    const remembering = new ClientCertificateCheck({ clock, engine });
    const validating = new ClientCertificateCheck({ clock });
    await remembering.setTrust(trust);
    await validating.setTrust(trust);
    verified = 0;
    const leaf = await signingCa.issue({
      commonName: 'cluster-1',
      dnsNames: ['cluster-1', 'cluster-1.example'],
      profile: 'client',
      lifetimeSeconds: 3600,
    });
    remembering.remember(leaf.certificatePem);
    expect(remembering.stats.remembered).toBe(1);
    const adopted = await remembering.check(auth(leaf.certificatePem));
    expect(verified).toBe(0);
    const validated = await validating.check(auth(leaf.certificatePem));
    expect(adopted).toEqual(validated);
    expect(adopted).toMatchObject({
      cluster: 'cluster-1',
      serialNumber: leaf.serialNumber,
      issuerKeyId: inspectCertificate(signing.certificatePem!).subjectKeyId,
      identity: { commonName: 'cluster-1', dnsNames: ['cluster-1', 'cluster-1.example'], ipAddresses: [], uris: [] },
    });
    // the adopted verdict holds only inside the certificate's validity
    await clock.advance(2 * 3600_000);
    expect(await codeOf(remembering.check(auth(leaf.certificatePem)))).toBe('CERTLOOP_CHAIN_EXPIRED');

    // remembered but not a client certificate: not adopted, the full check refuses it
    const server = await signingCa.issue({ commonName: 'cluster-2', profile: 'server', lifetimeSeconds: 3600 });
    remembering.remember(server.certificatePem);
    expect(await codeOf(remembering.check(auth(server.certificatePem)))).toBe('CERTLOOP_CHAIN_EXT_KEY_USAGE');
    // and one never remembered is validated, signatures and all (the count above means what it says)
    const other = await signingCa.issue({ commonName: 'cluster-3', profile: 'client', lifetimeSeconds: 3600 });
    expect(await codeOf(remembering.check(auth(other.certificatePem)))).toBe('resolved');
    expect(verified).toBeGreaterThan(0);
  });
});
