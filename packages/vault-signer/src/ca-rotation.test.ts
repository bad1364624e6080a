import { X509Certificate } from 'node:crypto';
import {
  type BundleObservation,
  CaRotation,
  type CaRotationOptions,
  type ConvergenceSource,
  DEFAULT_RELAY_SECRET_NAMES,
  inspectCertificate,
  issuedTlsSecret,
  ManualClock,
  MemorySecretStore,
  readTlsMaterial,
  splitPemBundle,
  trustBundleDigest,
} from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultCaRotationBackend } from './rotation-backend.js';
import { VaultCertificateAuthority } from './signer.js';
import { codeOf, makeCsr, opensslVerify, type RotationFixture, rotationFixture } from './test-support.js';
import type { VaultEmulator } from './testing/index.js';

// core's CaRotation driving VaultCaRotationBackend through node-vault against the emulator: the keys never leave Vault

const DAY = 86_400;
const SERVER = DEFAULT_RELAY_SECRET_NAMES.server;

let emu: VaultEmulator;
let backend: VaultCaRotationBackend;
let signer: VaultCertificateAuthority;
const store = new MemorySecretStore();
const clock = new ManualClock(new Date());

class Table implements ConvergenceSource {
  readonly rows = new Map<string, BundleObservation>();
  report(consumer: string, bundle: string) {
    this.rows.set(consumer, {
      consumer,
      kind: 'agent',
      bundleDigest: trustBundleDigest(bundle),
      observedAt: clock.now(),
    });
  }
  async observations() {
    return [...this.rows.values()];
  }
}
const table = new Table();

const subjects = (bundle: string) => splitPemBundle(bundle).map((p) => new X509Certificate(p).subject);
const keyIdOf = (pem: string) => inspectCertificate(pem).subjectKeyId;

/** What Vault holds now, as listed through `pki/issuers` and `pki/keys` of both mounts. */
async function vault() {
  const state: Record<string, { issuers: { name: string; cn: string; isDefault: boolean }[]; keys: string[] }> = {};
  for (const mount of ['pki', 'pki_int']) {
    const issuers = [];
    for (const summary of await backend.admin.listIssuers(mount)) {
      const issuer = await backend.admin.readIssuer(mount, summary.id);
      issuers.push({
        name: issuer.name,
        cn: new X509Certificate(issuer.certificatePem).subject,
        isDefault: summary.isDefault,
      });
    }
    issuers.sort((a, b) => a.cn.localeCompare(b.cn) || a.name.localeCompare(b.name));
    state[mount] = { issuers, keys: (await backend.admin.listKeys(mount)).map((k) => k.name).sort() };
  }
  return state;
}

/** The trust bundle a signer that never cached anything serves now. */
async function servedBundle(): Promise<string> {
  const fresh = new VaultCertificateAuthority({
    endpoint: emu.endpoint,
    auth: { method: 'token', token: emu.rootToken },
    mount: 'pki_int',
    role: 'agents',
  });
  try {
    return await fresh.trustBundle();
  } finally {
    fresh.close();
  }
}

const signLeaf = async (name: string) =>
  signer.sign({ csrPem: (await makeCsr({ commonName: name })).csrPem, lifetimeSeconds: 3600, profile: 'client' });

/** The chain's first CA (the signing intermediate) subject. */
const signedBy = (chainPem: string) => new X509Certificate(splitPemBundle(chainPem)[0]!).subject;

const server = async () => readTlsMaterial((await store.get(SERVER))!);

/** No store secret holds a CA's key: the only `tls.key` is the server's own, beside a leaf; no record holds a key. */
async function expectNoCaKeyInStore() {
  for (const secret of await store.list()) {
    const text = Object.values(secret.data)
      .map((v) => new TextDecoder().decode(v))
      .join('\n');
    if (secret.name !== SERVER) expect(text, secret.name).not.toContain('PRIVATE KEY');
    const m = readTlsMaterial(secret);
    if (m.privateKeyPem) {
      expect(secret.name).toBe(SERVER);
      const leaf = new X509Certificate(splitPemBundle(m.certificatePem!)[0]!);
      expect(leaf.ca).toBe(false);
    }
  }
}

const options = (ca: 'root' | 'intermediate'): CaRotationOptions => ({
  ca,
  store,
  clock,
  backend,
  serverSigner: signer,
  convergence: [table],
  expectedConsumers: [{ consumer: 'cluster-1', kind: 'agent' }],
  maxLeafLifetimeSeconds: 30 * DAY,
});

let fixture: RotationFixture;
beforeAll(async () => {
  fixture = await rotationFixture();
  ({ emulator: emu, backend, signer } = fixture);
  // the relay's server certificate, signed by Vault; its key (a leaf's) is the only one in the store
  const csr = await makeCsr({ commonName: 'relay-server', dnsNames: ['relay.example.test'] });
  const issued = await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 7 * DAY, profile: 'server' });
  await store.put(SERVER, issuedTlsSecret({ role: 'server', privateKeyPem: csr.privateKeyPem, result: issued }));
});
afterAll(() => fixture.close());

describe('CaRotation on VaultCaRotationBackend (emulator, node-vault): the keys never leave Vault', () => {
  it('rotates the root: prepare, converge, activate, drain, retire; {A} → {A, B} → {B} in Vault and the store', async () => {
    const rotation = new CaRotation(options('root'));
    const rootA = (await backend.current('root'))!.certificatePem;
    const bundleA = await servedBundle();
    expect(subjects(bundleA)).toEqual(['CN=certloop vault root']);
    const underA = await signLeaf('under-a');
    table.report('cluster-1', bundleA);

    // prepare: B (root and intermediate) made in Vault, not in force; every bundle {A, B}; A still signs
    const prepared = await rotation.prepare({ crossSign: true, commonName: 'root B', intermediateCommonName: 'int B' });
    expect(prepared.phase).toBe('converge');
    const id = prepared.id;
    expect(prepared.old.keyRef).toMatch(/^pki\/issuer\//);
    expect(prepared.newIntermediate?.keyRef).toMatch(/^pki_int\/issuer\//);
    expect(prepared.crossSignedPem).toBeDefined();
    expect(await vault()).toEqual({
      pki: {
        issuers: [
          { name: 'root', cn: 'CN=certloop vault root', isDefault: true },
          { name: `${id}-root`, cn: 'CN=root B', isDefault: false },
        ],
        keys: [`${id}-old-root`, `${id}-root`],
      },
      pki_int: {
        issuers: [
          { name: '', cn: 'CN=certloop vault intermediate', isDefault: true },
          { name: '', cn: 'CN=certloop vault root', isDefault: false },
          { name: `${id}-cross`, cn: 'CN=int B', isDefault: false },
          { name: `${id}-int`, cn: 'CN=int B', isDefault: false },
          { name: '', cn: 'CN=root B', isDefault: false },
        ],
        keys: [`${id}-int`, `${id}-old-int`],
      },
    });
    const bundleAB = await servedBundle();
    expect(subjects(bundleAB).sort()).toEqual(['CN=certloop vault root', 'CN=root B']);
    expect(trustBundleDigest(bundleAB)).toBe(prepared.bundles.during);
    expect(trustBundleDigest((await server()).trustBundlePem!)).toBe(prepared.bundles.during);
    expect(signedBy((await signLeaf('still-a')).chainPem)).toBe('CN=certloop vault intermediate');
    opensslVerify({ rootsPem: bundleAB, chainPem: underA.chainPem, leafPem: underA.certificatePem });
    opensslVerify({ rootsPem: bundleAB, chainPem: rootA, leafPem: prepared.crossSignedPem! });
    await expectNoCaKeyInStore();

    // converge: activate is refused until cluster-1 holds {A, B}
    expect(await codeOf(() => rotation.activate())).toBe('CERTLOOP_CA_ROTATION_REFUSED');
    table.report('cluster-1', bundleAB);
    expect((await rotation.checkConvergence()).complete).toBe(true);

    // activate: B's issuers become the defaults; leaves and the server certificate are signed under B
    const activated = await rotation.activate();
    expect(activated.phase).toBe('drain');
    const afterActivate = await vault();
    expect(afterActivate.pki.issuers.find((i) => i.isDefault)?.cn).toBe('CN=root B');
    expect(afterActivate.pki_int.issuers.find((i) => i.isDefault)).toEqual({
      name: `${id}-int`,
      cn: 'CN=int B',
      isDefault: true,
    });
    expect(subjects(await servedBundle()).sort()).toEqual(['CN=certloop vault root', 'CN=root B']);
    const underB = await signLeaf('under-b');
    expect(signedBy(underB.chainPem)).toBe('CN=int B');
    expect(inspectCertificate(underB.certificatePem).authorityKeyId).toBe(
      keyIdOf(activated.newIntermediate!.certificatePem),
    );
    opensslVerify({ rootsPem: bundleAB, chainPem: underB.chainPem, leafPem: underB.certificatePem });
    const served = await server();
    const [serverLeaf, ...serverChain] = splitPemBundle(served.certificatePem!);
    expect(signedBy(serverChain.join(''))).toBe('CN=int B');
    opensslVerify({
      rootsPem: bundleAB,
      chainPem: serverChain.join(''),
      leafPem: serverLeaf!,
      purpose: 'sslserver',
    });
    expect(trustBundleDigest(served.trustBundlePem!)).toBe(prepared.bundles.during);
    await expectNoCaKeyInStore();

    // drain: without a ledger A's leaves count as live until the longest leaf lifetime has passed
    expect((await rotation.drain()).liveUnderOld).toBe(1);
    expect(await codeOf(() => rotation.retire())).toBe('CERTLOOP_CA_ROTATION_REFUSED');
    await clock.advance(31 * DAY * 1000);
    expect((await rotation.drain()).liveUnderOld).toBe(0);

    // retire: {B} everywhere; A's issuers and keys deleted in Vault, B's kept
    const retired = await rotation.retire();
    expect(retired.phase).toBe('retired');
    expect(retired.old.keyRef).toBeUndefined();
    expect(await vault()).toEqual({
      pki: {
        issuers: [{ name: `${id}-root`, cn: 'CN=root B', isDefault: true }],
        keys: [`${id}-root`],
      },
      pki_int: {
        issuers: [
          { name: `${id}-int`, cn: 'CN=int B', isDefault: true },
          { name: '', cn: 'CN=root B', isDefault: false },
        ],
        keys: [`${id}-int`],
      },
    });
    const bundleB = await servedBundle();
    expect(subjects(bundleB)).toEqual(['CN=root B']);
    expect(trustBundleDigest(bundleB)).toBe(retired.bundles.after);
    expect(trustBundleDigest((await server()).trustBundlePem!)).toBe(retired.bundles.after);
    const last = await signLeaf('after-retire');
    opensslVerify({ rootsPem: bundleB, chainPem: last.chainPem, leafPem: last.certificatePem });
    opensslVerify({ rootsPem: bundleB, chainPem: serverChain.join(''), leafPem: serverLeaf! });
    await expectNoCaKeyInStore();
    table.report('cluster-1', bundleB);
    // no key ever left Vault
    expect(emu.requests.filter((r) => r.path.includes('exported'))).toEqual([]);
  });

  it('rotates the intermediate under the root in force, then aborts a second one after activate', async () => {
    const rotation = new CaRotation(options('intermediate'));
    const bundleB = await servedBundle();
    const intB = (await backend.current('signing'))!;
    const rootId = (await vault()).pki.issuers[0]!.name;

    const prepared = await rotation.prepare({ commonName: 'int C' });
    const id = prepared.id;
    expect(prepared.bundles.during).toBe(trustBundleDigest(bundleB));
    const prepState = await vault();
    expect(prepState.pki_int.issuers.find((i) => i.name === `${id}-int`)).toEqual({
      name: `${id}-int`,
      cn: 'CN=int C',
      isDefault: false,
    });
    expect(prepState.pki_int.keys).toEqual([`${id}-int`, `${id}-old-int`]);
    expect(signedBy((await signLeaf('still-b')).chainPem)).toBe('CN=int B');

    const activated = await rotation.activate();
    expect(activated.phase).toBe('drain');
    expect((await vault()).pki_int.issuers.find((i) => i.isDefault)?.cn).toBe('CN=int C');
    const underC = await signLeaf('under-c');
    expect(signedBy(underC.chainPem)).toBe('CN=int C');
    opensslVerify({ rootsPem: bundleB, chainPem: underC.chainPem, leafPem: underC.certificatePem });
    const [serverLeaf, ...serverChain] = splitPemBundle((await server()).certificatePem!);
    expect(signedBy(serverChain.join(''))).toBe('CN=int C');
    opensslVerify({ rootsPem: bundleB, chainPem: serverChain.join(''), leafPem: serverLeaf!, purpose: 'sslserver' });

    const retired = await rotation.retire({ force: true, reason: 'test: leaves of int B are short' });
    expect(retired.phase).toBe('retired');
    expect(retired.forced?.map((f) => f.refusal)).toEqual(['leaves-live']);
    expect(await vault()).toEqual({
      pki: { issuers: [{ name: rootId, cn: 'CN=root B', isDefault: true }], keys: [rootId] },
      pki_int: {
        issuers: [
          { name: `${id}-int`, cn: 'CN=int C', isDefault: true },
          { name: '', cn: 'CN=root B', isDefault: false },
        ],
        keys: [`${id}-int`],
      },
    });
    expect(await codeOf(() => rotation.abort())).toBe('CERTLOOP_CA_ROTATION_REFUSED');
    expect(intB.keyRef).not.toBe((await backend.current('signing'))!.keyRef);

    // a second intermediate rotation, aborted after activate: C signs again, D is deleted from Vault
    const second = await rotation.prepare({ commonName: 'int D' });
    await rotation.activate();
    expect(signedBy((await signLeaf('under-d')).chainPem)).toBe('CN=int D');
    const aborted = await rotation.abort({ reason: 'test' });
    expect(aborted.phase).toBe('aborted');
    expect(aborted.abortedFrom).toBe('drain');
    const state = await vault();
    expect(state.pki_int.issuers.map((i) => i.cn).sort()).toEqual(['CN=int C', 'CN=root B']);
    expect(state.pki_int.issuers.find((i) => i.isDefault)?.cn).toBe('CN=int C');
    expect(state.pki_int.keys).toEqual([`${second.id}-old-int`]);
    const back = await signLeaf('back-to-c');
    expect(signedBy(back.chainPem)).toBe('CN=int C');
    opensslVerify({ rootsPem: bundleB, chainPem: back.chainPem, leafPem: back.certificatePem });
    const [leafAfterAbort, ...chainAfterAbort] = splitPemBundle((await server()).certificatePem!);
    expect(signedBy(chainAfterAbort.join(''))).toBe('CN=int C');
    opensslVerify({ rootsPem: bundleB, chainPem: chainAfterAbort.join(''), leafPem: leafAfterAbort! });
    expect(subjects(await servedBundle())).toEqual(['CN=root B']);
    await expectNoCaKeyInStore();
    expect(emu.requests.filter((r) => r.path.includes('exported'))).toEqual([]);
  });

  it('aborts a root rotation from converge: root and intermediate B deleted in Vault, the bundle back to {A}', async () => {
    const rotation = new CaRotation(options('root'));
    const before = await vault();
    const bundleBefore = await servedBundle();
    const prepared = await rotation.prepare({ commonName: 'root E' });
    expect(subjects(await servedBundle()).sort()).toEqual(['CN=root B', 'CN=root E']);
    expect((await vault()).pki.issuers.map((i) => i.cn)).toContain('CN=root E');
    const aborted = await rotation.abort();
    expect(aborted.phase).toBe('aborted');
    expect(aborted.abortedFrom).toBe('converge');
    const after = await vault();
    expect(after.pki.issuers).toEqual(before.pki.issuers);
    expect(after.pki_int.issuers).toEqual(before.pki_int.issuers);
    // the keys in force stay; the snapshot named them after the aborted rotation
    expect(after.pki.keys).toEqual([`${prepared.id}-old-root`]);
    expect(after.pki_int.keys).toEqual([`${prepared.id}-old-int`]);
    expect(trustBundleDigest(await servedBundle())).toBe(trustBundleDigest(bundleBefore));
    expect(trustBundleDigest((await server()).trustBundlePem!)).toBe(aborted.bundles.before);
    await expectNoCaKeyInStore();
  });
});
