import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { managedAnnotations, readTlsMaterial, tlsSecretData } from '../secret/tls-layout.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { generateKeyPair } from '../x509/keys.js';
import { splitPemBundle } from '../x509/pem.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import { ByoRootFollower } from './byo-root.js';
import { StoreTrustBundlePublisher } from './store-publisher.js';
import { DAY, YEAR } from './test-support.js';

describe('ByoRootFollower', () => {
  it('keeps the previous bring-your-own root in the published bundles for the overlap, never writing the root', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    const root = async (cn: string) => {
      const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
      const ca = await createSelfSignedCa({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: cn },
        lifetimeSeconds: YEAR,
        clock,
      });
      return { ...ca, privateKeyPem: key.privateKeyPem };
    };
    const byo = async (r: { certificatePem: string; privateKeyPem: string }) =>
      store.put('relay-root-tls-secret', {
        data: tlsSecretData({
          certificatePem: r.certificatePem,
          privateKeyPem: r.privateKeyPem,
          trustBundlePem: r.certificatePem,
        }),
        annotations: { 'cert-manager.io/certificate-name': 'relay-root' },
      });
    const a = await root('cm root 1');
    await byo(a);
    // a managed secret whose ca.crt certloop publishes
    await store.put('relay-server-tls-secret', {
      data: tlsSecretData({
        certificatePem: a.certificatePem,
        privateKeyPem: a.privateKeyPem,
        trustBundlePem: a.certificatePem,
      }),
      annotations: managedAnnotations({ role: 'server' }),
    });
    const follower = new ByoRootFollower({
      store,
      clock,
      rootSecretName: 'relay-root-tls-secret',
      overlapSeconds: 7 * DAY,
      publisher: new StoreTrustBundlePublisher({ store }),
    });
    const first = await follower.sync();
    expect(first?.overlapping).toEqual([]);
    const rootVersion = (await store.get('relay-root-tls-secret'))?.version;

    const b = await root('cm root 2');
    await byo(b); // cert-manager renewed the root
    const renewed = await store.get('relay-root-tls-secret');
    const during = await follower.sync();
    const served = readTlsMaterial((await store.get('relay-server-tls-secret'))!).trustBundlePem!;
    expect(splitPemBundle(served).sort()).toEqual([a.certificatePem, b.certificatePem].sort());
    expect(during?.overlapping).toHaveLength(1);
    expect((await store.get('relay-root-tls-secret'))?.version).toBe(renewed?.version); // never written
    expect(rootVersion).not.toBe(renewed?.version);

    await clock.advance(7 * DAY * 1000 + 1000);
    const after = await follower.sync();
    expect(after?.overlapping).toEqual([]);
    expect(splitPemBundle(readTlsMaterial((await store.get('relay-server-tls-secret'))!).trustBundlePem!)).toEqual([
      b.certificatePem,
    ]);
  });
});
