import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { CertloopError } from '../errors.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { inspectCertificate } from '../x509/inspect.js';
import { splitPemBundle } from '../x509/pem.js';
import { trustBundleDigest } from './bundle-digest.js';
import { CaRotation } from './ca-rotation.js';
import { StoreCaKeyBackend } from './store-backend.js';
import { DAY, expectOpensslVerifies, FollowingAuthority, NAMES, relayPki, servedChain } from './test-support.js';
import type { TrustBundleBackend } from './trust-bundle-backend.js';
import type { BackendCallOptions, CaKeyBackend } from './types.js';

/**
 * A backend that cannot sign here (no `authority()`, as Vault's and PKCS#11's) and keeps its own copy of the trust
 * bundle (as Vault's signing mount): the store backend's keys, seen only through the `CaKeyBackend` contract.
 */
class RemoteLikeBackend implements CaKeyBackend, TrustBundleBackend {
  readonly kind = 'remote-like';
  readonly published: string[] = [];
  readonly #inner: StoreCaKeyBackend;
  constructor(inner: StoreCaKeyBackend) {
    this.#inner = inner;
  }
  current: CaKeyBackend['current'] = (slot, o) => this.#inner.current(slot, o);
  snapshot: CaKeyBackend['snapshot'] = (slot, id, o) => this.#inner.snapshot(slot, id, o);
  create: CaKeyBackend['create'] = (r, o) => this.#inner.create(r, o);
  crossSign: CaKeyBackend['crossSign'] = (r, o) => this.#inner.crossSign(r, o);
  install: CaKeyBackend['install'] = (r, o) => this.#inner.install(r, o);
  destroy: CaKeyBackend['destroy'] = (id, o) => this.#inner.destroy(id, o);
  async publishTrustBundle(bundlePem: string, _o?: BackendCallOptions): Promise<void> {
    this.published.push(bundlePem);
  }
  async readTrustBundle(): Promise<string | undefined> {
    return this.published.at(-1);
  }
}

async function setup() {
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const store = new MemorySecretStore();
  await relayPki(store, clock);
  const backend = new RemoteLikeBackend(new StoreCaKeyBackend({ store, clock }));
  return { clock, store, backend };
}

describe('CaRotation with a backend that cannot sign here and holds its own trust bundle', () => {
  it('publishes every bundle to the backend; serverSigner re-issues the server certificate under B by CSR', async () => {
    const { clock, store, backend } = await setup();
    const rotation = new CaRotation({
      ca: 'intermediate',
      store,
      clock,
      backend,
      serverSigner: new FollowingAuthority(store, clock),
    });
    const prepared = await rotation.prepare();
    expect(backend.published.map(trustBundleDigest)).toEqual([prepared.bundles.during]);
    const keyBefore = (await store.get(NAMES.server))?.data['tls.key'];
    const activated = await rotation.activate();
    const chain = await servedChain(store);
    expect(inspectCertificate(splitPemBundle(chain)[0]!).authorityKeyId).toBe(activated.new?.keyId);
    expect((await store.get(NAMES.server))?.data['tls.key']).not.toEqual(keyBefore);
    await expectOpensslVerifies(chain, backend.published.at(-1)!, clock.now(), 'server under B');
    const aborted = await rotation.abort();
    expect(aborted.phase).toBe('aborted');
    expect(inspectCertificate(splitPemBundle(await servedChain(store))[0]!).authorityKeyId).toBe(aborted.old.keyId);
    expect(backend.published.map(trustBundleDigest).at(-1)).toBe(aborted.bundles.before);
  });

  it('without serverSigner the server certificate is left to its own rotator', async () => {
    const { clock, store, backend } = await setup();
    const rotation = new CaRotation({ ca: 'intermediate', store, clock, backend });
    const before = await servedChain(store);
    await rotation.prepare();
    await rotation.activate();
    expect(await servedChain(store)).toBe(before);
  });

  it('refuses a serverSigner that signs under another CA (CERTLOOP_CA_ROTATION_SIGNER_MISMATCH)', async () => {
    const { clock, store, backend } = await setup();
    const foreign = await setup();
    const rotation = new CaRotation({
      ca: 'intermediate',
      store,
      clock,
      backend,
      serverSigner: new FollowingAuthority(foreign.store, clock),
      maxLeafLifetimeSeconds: DAY,
    });
    await rotation.prepare();
    const before = await servedChain(store);
    const err = await rotation.activate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertloopError);
    expect((err as CertloopError).code).toBe('CERTLOOP_CA_ROTATION_SIGNER_MISMATCH');
    expect(await servedChain(store)).toBe(before);
    expect((await rotation.record())?.phase).toBe('activate'); // resumable once the signer is fixed
  });
});
