import { X509Certificate } from 'node:crypto';
import {
  bootstrapRelayPki,
  inspectCertificate,
  ManualClock,
  MemorySecretStore,
  privateKeyMatchesCertificate,
  Rotator,
  type RotatorEvent,
  readTlsMaterial,
  splitPemBundle,
  validateChain,
} from '@certloop/core';
import { afterEach, describe, expect, it } from 'vitest';
import { opensslVerify, type PkiFixture, pkiFixture } from './test-support.js';
import { vaultCall } from './testing/index.js';

const DAY = 86_400;
let fx: PkiFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** Moves the ManualClock timer by timer, letting loopback HTTP finish in between, until `done()` (bounded). */
async function driveUntil(clock: ManualClock, done: () => boolean, maxSteps = 3000): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (done()) return;
    const next = clock.nextTimerAt();
    if (next) await clock.advanceTo(next);
  }
  throw new Error('the condition was not reached');
}

describe('the Vault-backed flow (DESIGN.md flow 4)', () => {
  it('a Rotator renews a client certificate through VaultCertificateAuthority, over several lifetimes', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    fx = await pkiFixture({ clock });
    const signer = await fx.signer();
    const store = new MemorySecretStore();
    const rotator = new Rotator({
      store,
      name: 'relay-client-tls-secret',
      ca: signer,
      ratio: 0.25,
      lifetimeSeconds: 2 * DAY,
      subject: { commonName: 'agent-1' },
      dnsNames: ['agent-1.gloo-mesh'],
      recheckIntervalMs: 6 * 3600_000,
      clock,
    });
    const events: RotatorEvent[] = [];
    rotator.subscribe((e) => events.push(e));
    rotator.start();
    try {
      await driveUntil(clock, () => events.filter((e) => e.type === 'succeeded').length >= 4);
    } finally {
      await rotator.stop();
    }
    expect(events.filter((e) => e.type === 'failed')).toEqual([]);
    const serials = events.flatMap((e) => (e.type === 'succeeded' ? [e.serialNumber] : []));
    expect(new Set(serials).size).toBe(serials.length);
    const stored = await store.get('relay-client-tls-secret');
    const material = readTlsMaterial(stored!);
    const [leaf, ...chain] = splitPemBundle(material.certificatePem!);
    expect(privateKeyMatchesCertificate(material.privateKeyPem!, leaf!)).toBe(true);
    expect(inspectCertificate(leaf!).serialNumber).toBe(serials[serials.length - 1]);
    await validateChain({
      leafPem: leaf!,
      intermediatesPem: chain.join(''),
      trustBundlePem: material.trustBundlePem!,
      at: clock.now(),
      usage: 'clientAuth',
    });
  });

  it('sealed, then unsealed mid-rotation: the rotation completes after the unseal; the stored credential is untouched meanwhile', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    fx = await pkiFixture({ clock });
    const signer = await fx.signer({ retry: { attempts: 2, initialMs: 1000, maxMs: 2000 } });
    const store = new MemorySecretStore();
    const rotator = new Rotator({
      store,
      name: 'relay-client-tls-secret',
      ca: signer,
      ratio: 0.5,
      jitter: 0,
      lifetimeSeconds: DAY,
      subject: { commonName: 'agent-1' },
      backoff: { initialMs: 60_000, maxMs: 600_000 },
      recheckIntervalMs: 6 * 3600_000,
      clock,
    });
    const events: RotatorEvent[] = [];
    rotator.subscribe((e) => events.push(e));
    const root = { endpoint: fx.emulator.endpoint, token: fx.emulator.rootToken };
    rotator.start();
    try {
      await driveUntil(clock, () => events.some((e) => e.type === 'succeeded'));
      const before = await store.get('relay-client-tls-secret');
      await vaultCall(root, 'PUT', 'sys/seal');
      // the renewal falls due (12 h in) while Vault is sealed: three failed passes, each retried by the signer
      await driveUntil(clock, () => events.filter((e) => e.type === 'failed').length >= 3);
      const failures = events.filter((e) => e.type === 'failed');
      expect(failures.every((e) => e.type === 'failed' && e.error.code === 'CERTLOOP_UNAVAILABLE')).toBe(true);
      const during = await store.get('relay-client-tls-secret');
      expect(during?.version).toBe(before?.version);
      expect(readTlsMaterial(during!).certificatePem).toBe(readTlsMaterial(before!).certificatePem);
      await vaultCall(root, 'PUT', 'sys/unseal', { key: fx.emulator.unsealKey });
      await driveUntil(clock, () => events.filter((e) => e.type === 'succeeded').length >= 2);
      const after = await store.get('relay-client-tls-secret');
      expect(after?.version).not.toBe(before?.version);
      const leaf = inspectCertificate(readTlsMaterial(after!).certificatePem!);
      expect(leaf.notBefore.getTime()).toBeGreaterThan(
        inspectCertificate(readTlsMaterial(before!).certificatePem!).notBefore.getTime(),
      );
    } finally {
      await rotator.stop();
    }
  });

  it('bootstrapRelayPki with the signing CA in Vault: no signing key in any secret; agents and server chain to Vault', async () => {
    fx = await pkiFixture();
    const signer = await fx.signer();
    const store = new MemorySecretStore();
    const result = await bootstrapRelayPki({ store, signingCa: signer });
    expect(result.signingCa).toBe(signer);
    expect(result.created.sort()).toEqual(['relay-identity-token-secret', 'relay-server-tls-secret']);
    expect(await store.get('relay-root-tls-secret')).toBeUndefined();
    expect(await store.get('relay-tls-signing-secret')).toBeUndefined();
    const server = readTlsMaterial((await store.get('relay-server-tls-secret'))!);
    const [leaf, ...chain] = splitPemBundle(server.certificatePem!);
    expect(new X509Certificate(leaf!).subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    // the only key in any secret is the server's own
    expect(privateKeyMatchesCertificate(server.privateKeyPem!, leaf!)).toBe(true);
    expect(privateKeyMatchesCertificate(server.privateKeyPem!, fx.pki.intermediatePem)).toBe(false);
    expect(server.trustBundlePem!.trim()).toBe(fx.pki.rootPem.trim());
    expect(
      opensslVerify({
        rootsPem: server.trustBundlePem!,
        chainPem: chain.join(''),
        leafPem: leaf!,
        purpose: 'sslserver',
      }),
    ).toContain(': OK');
    // running it again changes nothing
    const again = await bootstrapRelayPki({ store, signingCa: signer });
    expect(again.created).toEqual([]);
    expect(again.trustBundlePem).toBe(result.trustBundlePem);
  });
});
