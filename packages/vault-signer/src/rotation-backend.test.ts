import { X509Certificate } from 'node:crypto';
import { joinPemBundle, splitPemBundle } from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultCaRotationBackend } from './rotation-backend.js';
import { VaultCertificateAuthority } from './signer.js';
import { codeOf, makeCsr, opensslVerify, type RotationFixture, rotationFixture } from './test-support.js';
import { setupAppRole, type VaultEmulator, vaultCall } from './testing/index.js';

let emu: VaultEmulator;
let backend: VaultCaRotationBackend;
let signer: VaultCertificateAuthority;
let rootA: string;

const roots = (bundle: string) => splitPemBundle(bundle).map((p) => new X509Certificate(p).subject);
let fixture: RotationFixture;
beforeAll(async () => {
  fixture = await rotationFixture();
  ({ emulator: emu, backend, signer } = fixture);
  rootA = fixture.pki.rootPem;
});
afterAll(() => fixture.close());

const signLeaf = async (name: string) =>
  signer.sign({ csrPem: (await makeCsr({ commonName: name })).csrPem, lifetimeSeconds: 3600, profile: 'client' });

describe('VaultCaRotationBackend: a root rotation in the order core runs it, the keys never leaving Vault', () => {
  it('prepare, activate, retire: {A} → {A, B} → {B}; every served chain passes openssl verify against its bundle', async () => {
    const before = await backend.current('root');
    expect(before?.certificatePem.trim()).toBe(rootA.trim());
    const signingBefore = await backend.current('signing');
    expect(roots(signingBefore!.chainPem)).toEqual(['CN=certloop vault root']);

    // prepare: snapshots name the old keys; the new root and intermediate are made once per slot id
    const oldRoot = await backend.snapshot('root', 'r1-old-root');
    expect(await backend.snapshot('root', 'r1-old-root')).toEqual(oldRoot);
    const oldInt = await backend.snapshot('signing', 'r1-old-int');
    expect(oldInt.keyRef).toBe(signingBefore!.keyRef);
    const request = {
      slotId: 'r1-root',
      commonName: 'root B',
      lifetimeSeconds: 20 * 86_400,
      keyAlgorithm: 'ECDSA-P256',
    } as const;
    const rootB = await backend.create(request);
    expect(await backend.create(request)).toEqual(rootB);
    expect(rootB.chainPem).toBe('');
    const intRequest = {
      ...request,
      slotId: 'r1-int',
      commonName: 'intermediate B',
      lifetimeSeconds: 10 * 86_400,
      parent: rootB,
      pathLength: 0,
    };
    const intB = await backend.create(intRequest);
    expect(await backend.create(intRequest)).toEqual(intB);
    expect(new X509Certificate(intB.certificatePem).verify(new X509Certificate(rootB.certificatePem).publicKey)).toBe(
      true,
    );
    const crossRequest = { slotId: 'r1-cross', subject: intB, issuer: oldRoot, lifetimeSeconds: 86_400 };
    const cross = await backend.crossSign(crossRequest);
    expect(await backend.crossSign(crossRequest)).toBe(cross);
    opensslVerify({ rootsPem: rootA, chainPem: rootA, leafPem: cross }); // intermediate B's key, certified by A
    // A still signs
    const underA = await signLeaf('under-a');
    expect(underA.chainPem).toContain(splitPemBundle(signingBefore!.certificatePem)[0]!.trim());

    // activate: B signs; both roots are trusted
    const during = joinPemBundle([rootA, rootB.certificatePem]);
    await backend.install({ slot: 'root', ca: rootB, trustBundlePem: during });
    await backend.install({ slot: 'signing', ca: intB, extraChainPem: cross, trustBundlePem: during });
    await backend.install({ slot: 'signing', ca: intB, extraChainPem: cross, trustBundlePem: during }); // idempotent
    expect((await backend.current('signing'))?.keyRef).toBe(intB.keyRef);
    const underB = await signLeaf('under-b');
    expect(new X509Certificate(splitPemBundle(underB.chainPem)[0]!).subject).toBe('CN=intermediate B');
    expect(roots(underB.trustBundlePem).sort()).toEqual(['CN=certloop vault root', 'CN=root B']);
    expect(roots(await signer.trustBundle()).sort()).toEqual(['CN=certloop vault root', 'CN=root B']);
    opensslVerify({ rootsPem: during, chainPem: underB.chainPem, leafPem: underB.certificatePem });
    opensslVerify({ rootsPem: during, chainPem: underA.chainPem, leafPem: underA.certificatePem });

    // retire: bundles become {B}; A's keys are destroyed in Vault, B's (in force) are kept
    const after = rootB.certificatePem;
    await backend.install({ slot: 'root', ca: rootB, trustBundlePem: after });
    await backend.install({ slot: 'signing', ca: intB, trustBundlePem: after });
    const destroyed: Record<string, boolean> = {};
    for (const slot of ['r1-old-root', 'r1-old-int', 'r1-cross', 'r1-root', 'r1-int']) {
      destroyed[slot] = await backend.destroy(slot);
    }
    expect(destroyed).toEqual({
      'r1-old-root': true,
      'r1-old-int': true,
      'r1-cross': true,
      'r1-root': false,
      'r1-int': false,
    });
    expect(await backend.destroy('r1-old-root')).toBe(false); // idempotent
    const keysLeft = await backend.admin.listKeys('pki');
    expect(keysLeft.map((k) => k.name)).toEqual(['r1-root']);
    expect((await backend.admin.listKeys('pki_int')).map((k) => k.name)).toEqual(['r1-int']);
    const pkiIntIssuers = await backend.admin.listIssuers('pki_int');
    expect(pkiIntIssuers.map((i) => i.name).sort()).toEqual(['', 'r1-int']); // intermediate B and root B (keyless)
    const fresh = new VaultCertificateAuthority({
      endpoint: emu.endpoint,
      auth: { method: 'token', token: emu.rootToken },
      mount: 'pki_int',
      role: 'agents',
    });
    try {
      expect(roots(await fresh.trustBundle())).toEqual(['CN=root B']);
      const last = await fresh.sign({
        csrPem: (await makeCsr({ commonName: 'after' })).csrPem,
        lifetimeSeconds: 3600,
        profile: 'client',
      });
      opensslVerify({ rootsPem: after, chainPem: last.chainPem, leafPem: last.certificatePem });
    } finally {
      fresh.close();
    }
    // no key ever left Vault
    expect(emu.requests.filter((r) => r.path.includes('exported'))).toEqual([]);
  });

  it('an intermediate rotation aborted after activate: A signs again and B is destroyed', async () => {
    const oldInt = await backend.snapshot('signing', 'r2-old-int');
    const root = await backend.current('root');
    const intC = await backend.create({
      slotId: 'r2-int',
      commonName: 'intermediate C',
      lifetimeSeconds: 86_400,
      keyAlgorithm: 'ECDSA-P384',
      parent: root!,
    });
    await backend.install({ slot: 'signing', ca: intC, trustBundlePem: root!.certificatePem });
    expect(new X509Certificate(splitPemBundle((await signLeaf('c')).chainPem)[0]!).subject).toBe('CN=intermediate C');
    await backend.install({ slot: 'signing', ca: oldInt, trustBundlePem: root!.certificatePem });
    expect(await backend.destroy('r2-int')).toBe(true);
    expect((await backend.admin.listKeys('pki_int')).map((k) => k.name)).toEqual(['r2-old-int']);
    expect(new X509Certificate(splitPemBundle((await signLeaf('b')).chainPem)[0]!).subject).toBe('CN=intermediate B');
  });

  it('refusals: a keyless default is no-key; a token without the policy is forbidden', async () => {
    const target = { endpoint: emu.endpoint, token: emu.rootToken };
    await vaultCall(target, 'POST', 'sys/mounts/keyless', { type: 'pki' });
    const imported = await vaultCall(target, 'POST', 'keyless/intermediate/set-signed', { certificate: rootA });
    const keylessId = (imported?.data as { imported_issuers: string[] } | undefined)?.imported_issuers[0];
    await vaultCall(target, 'POST', 'keyless/config/issuers', { default: keylessId });
    const keyless = new VaultCaRotationBackend({
      endpoint: emu.endpoint,
      auth: { method: 'token', token: emu.rootToken },
      rootMount: 'keyless',
      mount: 'keyless',
    });
    try {
      expect(await codeOf(() => keyless.current('root'))).toBe('CERTLOOP_CA_ROTATION_REFUSED');
    } finally {
      keyless.close();
    }
    const signerOnly = new VaultCaRotationBackend({
      endpoint: emu.endpoint,
      auth: {
        method: 'approle',
        mount: 'approle-x',
        ...(await setupAppRole({ ...target, path: 'approle-x', role: 'x', policies: ['pki'] })),
      },
      rootMount: 'pki',
      mount: 'pki_int',
    });
    try {
      expect(
        await codeOf(() =>
          signerOnly.create({ slotId: 'evil', commonName: 'evil', lifetimeSeconds: 60, keyAlgorithm: 'ECDSA-P256' }),
        ),
      ).toBe('CERTLOOP_FORBIDDEN');
    } finally {
      signerOnly.close();
    }
  });
});
