import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { CertloopError } from '../errors.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { inspectCertificate } from '../x509/inspect.js';
import { splitPemBundle } from '../x509/pem.js';
import { trustBundleDigest } from './bundle-digest.js';
import { CaRotation } from './ca-rotation.js';
import type { BundleObservation, ConvergenceSource } from './consumers.js';
import { readRecords } from './record.js';
import {
  DAY,
  expectOpensslVerifies,
  issueClient,
  NAMES,
  publishedBundle,
  relayPki,
  servedChain,
  validates,
} from './test-support.js';

async function refusal(pending: Promise<unknown>): Promise<string | undefined> {
  try {
    await pending;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    const e = err as CertloopError;
    expect(e.code).toBe('CERTLOOP_CA_ROTATION_REFUSED');
    return e.details?.refusal as string;
  }
}

class Table implements ConvergenceSource {
  readonly rows = new Map<string, BundleObservation>();
  report(consumer: string, bundle: string, at: Date) {
    this.rows.set(consumer, { consumer, kind: 'agent', bundleDigest: trustBundleDigest(bundle), observedAt: at });
  }
  async observations() {
    return [...this.rows.values()];
  }
}

describe('CaRotation', () => {
  it('rotates the root through every phase; every chain served passes openssl verify against the bundle of its phase', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    const table = new Table();
    const rotation = new CaRotation({
      ca: 'root',
      store,
      clock,
      convergence: [table],
      bringYourOwnConsumers: ['cluster-2'],
      maxLeafLifetimeSeconds: 30 * DAY,
    });
    const bundleA = await publishedBundle(store);
    const keyOf = async (name: string) => new TextDecoder().decode((await store.get(name))?.data['tls.key']).trim();
    const keysOfA = [await keyOf(NAMES.root), await keyOf(NAMES.signing)];
    const oldClient = await issueClient(store, clock, 'cluster-1', 30 * DAY);
    table.report('cluster-1', bundleA, clock.now());

    const prepared = await rotation.prepare({ crossSign: true, reason: 'test' });
    expect(prepared.phase).toBe('converge');
    const bundleAB = await publishedBundle(store);
    expect(splitPemBundle(bundleAB)).toHaveLength(2);
    for (const name of [NAMES.root, NAMES.signing, NAMES.server]) {
      expect(trustBundleDigest(await publishedBundle(store, name))).toBe(prepared.bundles.during);
    }
    // A still signs
    const duringPrepare = await issueClient(store, clock, 'cluster-3', 30 * DAY);
    expect(duringPrepare.issuerKeyId).toBe(oldClient.issuerKeyId);
    for (const [label, chain] of [
      ['server (converge)', await servedChain(store)],
      ['old client (converge)', oldClient.tlsCrt],
    ] as const) {
      await expectOpensslVerifies(chain, bundleAB, clock.now(), label);
    }

    // not converged: cluster-1 holds {A}, cluster-2 never confirmed
    expect(await refusal(rotation.activate())).toBe('not-converged');
    table.report('cluster-1', bundleAB, clock.now());
    const figures = await rotation.checkConvergence();
    expect(figures).toMatchObject({ total: 2, converged: 1, complete: false });
    expect(figures.summary).toMatch(/^1\/2 consumers hold \{A,B\}; waiting for cluster-2/);
    await rotation.confirm(['cluster-2']);

    const active = await rotation.activate();
    expect(active.phase).toBe('drain');
    expect(await rotation.activate()).toMatchObject({ phase: 'drain', revision: active.revision }); // idempotent
    const server = inspectCertificate((await servedChain(store)) ?? '');
    expect(server.authorityKeyId).toBe(active.newIntermediate?.keyId);
    const newClient = await issueClient(store, clock, 'cluster-1', 30 * DAY);
    expect(newClient.issuerKeyId).toBe(active.newIntermediate?.keyId);
    for (const [label, chain] of [
      ['server (drain)', await servedChain(store)],
      ['new client (drain)', newClient.tlsCrt],
      ['old client (drain)', oldClient.tlsCrt],
    ] as const) {
      await expectOpensslVerifies(chain, bundleAB, clock.now(), label);
    }
    // a peer that still trusts only A validates B's chains through the cross-signed intermediate
    // (certloop's validator tries every path; OpenSSL, which does not backtrack, is given the cross-signed one)
    expect(await validates(newClient.tlsCrt, bundleA, clock.now(), 'clientAuth')).toBe(true);
    const [newLeaf] = splitPemBundle(newClient.tlsCrt);
    await expectOpensslVerifies(`${newLeaf}${active.crossSignedPem}`, bundleA, clock.now(), 'new client via cross');

    expect(await refusal(rotation.retire())).toBe('leaves-live');
    await clock.advance(31 * DAY * 1000);
    const retired = await rotation.retire();
    expect(retired.phase).toBe('retired');
    const bundleB = await publishedBundle(store);
    expect(splitPemBundle(bundleB)).toEqual([retired.new?.certificatePem]);
    expect(retired.old.keyRef).toBeUndefined();
    expect(retired.old.certificatePem).toBe(prepared.old.certificatePem);
    expect((await store.list()).map((s) => s.name).filter((n) => n.startsWith('relay-ca-rotation-'))).toEqual([]);
    // A's keys (root and intermediate) are nowhere in the store any more
    const held = (await store.list()).flatMap((s) => Object.values(s.data).map((v) => new TextDecoder().decode(v)));
    for (const key of keysOfA) expect(held.some((v) => v.includes(key))).toBe(false);
    const later = await issueClient(store, clock, 'cluster-1', 30 * DAY);
    await expectOpensslVerifies(later.tlsCrt, bundleB, clock.now(), 'client after retire');
    await expectOpensslVerifies(await servedChain(store), bundleB, clock.now(), 'server after retire');
    expect(await validates(later.tlsCrt, bundleA, clock.now())).toBe(false);
    expect(await refusal(rotation.abort())).toBe('already-retired');
    expect((await rotation.status()).underWay).toBe(false);
  });

  it('rotates the intermediate: bundles stay, B signs after activate, abort before retire returns to A; openssl verifies every chain served', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    const rotation = new CaRotation({ ca: 'intermediate', store, clock, maxLeafLifetimeSeconds: DAY });
    const before = await store.get(NAMES.signing);
    const bundle = await publishedBundle(store);
    const oldClient = await issueClient(store, clock, 'cluster-1', DAY);
    const prepared = await rotation.prepare();
    expect(prepared.bundles.during).toBe(prepared.bundles.before);
    await expectOpensslVerifies(await servedChain(store), bundle, clock.now(), 'server (converge)');
    const active = await rotation.activate();
    expect(inspectCertificate((await servedChain(store)) ?? '').authorityKeyId).toBe(active.new?.keyId);
    const newClient = await issueClient(store, clock, 'cluster-1', DAY);
    for (const [label, chain] of [
      ['server (drain)', await servedChain(store)],
      ['old client (drain)', oldClient.tlsCrt],
      ['new client (drain)', newClient.tlsCrt],
    ] as const) {
      await expectOpensslVerifies(chain, bundle, clock.now(), label);
    }
    const aborted = await rotation.abort();
    await expectOpensslVerifies(await servedChain(store), bundle, clock.now(), 'server (aborted)');
    expect(aborted).toMatchObject({ phase: 'aborted', abortedFrom: 'drain' });
    const after = await store.get(NAMES.signing);
    expect(after?.data['tls.key']).toEqual(before?.data['tls.key']);
    expect(inspectCertificate((await servedChain(store)) ?? '').authorityKeyId).toBe(prepared.old.keyId);
    expect(await refusal(rotation.activate())).toBe('no-rotation');
    // a new rotation may start after an abort
    expect((await rotation.prepare()).phase).toBe('converge');
  });

  it('refuses a second CA while one is rotating, and refuses leaderless writes', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    await new CaRotation({ ca: 'root', store, clock }).prepare();
    expect(await refusal(new CaRotation({ ca: 'intermediate', store, clock }).prepare())).toBe('rotation-under-way');
    const { secret } = await readRecords(store, 'relay-ca-rotation');
    expect(Object.keys(secret?.data ?? {})).toEqual(['root.json']);
  });
});
