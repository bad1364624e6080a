import { describe, expect, it } from 'vitest';
import { code } from '../ca/test-support.js';
import { ManualClock } from '../clock/manual-clock.js';
import { StaticLeaderElector } from '../leader/in-process-elector.js';
import { Rotator } from '../rotation/rotator.js';
import type { RotatorEvent } from '../rotation/rotator-events.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import { MemoryIssuanceLedger } from '../store/issuance-ledger.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { inspectCertificate } from '../x509/inspect.js';
import { trustBundleDigest } from './bundle-digest.js';
import { CaRotation } from './ca-rotation.js';
import { CaRotator } from './ca-rotator.js';
import {
  DAY,
  expectOpensslVerifies,
  FollowingAuthority,
  issueClient,
  publishedBundle,
  relayPki,
  servedChain,
  signingKeyId,
  validates,
  YEAR,
} from './test-support.js';

describe('CaRotation: leadership, expiry, status', () => {
  it('moves a rotation only while leading; status needs no leadership', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    const leader = new StaticLeaderElector({ identity: 'replica-1', clock });
    const rotation = new CaRotation({ ca: 'intermediate', store, clock, leader });
    expect(await code(rotation.prepare())).toBe('CERTLOOP_NOT_LEADER');
    expect(await rotation.record()).toBeUndefined();
    expect((await rotation.status()).underWay).toBe(false);
    leader.start();
    expect((await rotation.prepare()).phase).toBe('converge');
    await leader.stop();
    expect(await code(rotation.activate())).toBe('CERTLOOP_NOT_LEADER');
    expect((await rotation.status()).record?.phase).toBe('converge');
  });

  it('rotates a root that has already expired (agents come back through the token bootstrap)', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock, { root: YEAR, intermediate: YEAR / 2, server: 30 * DAY });
    await clock.advance(2 * YEAR * 1000);
    const rotation = new CaRotation({ ca: 'root', store, clock, ledger: new MemoryIssuanceLedger() });
    const status = await rotation.status();
    expect(status).toMatchObject({ due: true, underWay: false });
    const prepared = await rotation.prepare({ crossSign: true, lifetimeSeconds: 10 * YEAR });
    expect(prepared.crossSignedPem).toBeUndefined(); // an expired root certifies nothing
    await rotation.activate();
    await rotation.drain();
    const retired = await rotation.retire();
    const bundle = await publishedBundle(store);
    const now = clock.now();
    expect(await validates(await servedChain(store), bundle, now, 'serverAuth')).toBe(true);
    const agent = await issueClient(store, clock, 'cluster-1', 30 * DAY);
    await expectOpensslVerifies(agent.tlsCrt, bundle, now, 'client under the new root');
    expect(inspectCertificate(retired.new!.certificatePem).notAfter.getTime()).toBeGreaterThan(
      now.getTime() + 9 * YEAR * 1000,
    );
  });

  it('reports a CA inside its renewal window as due and a rotation idle past the bound as stuck', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock, { root: 10 * YEAR, intermediate: 2 * YEAR });
    const rotation = new CaRotation({ ca: 'intermediate', store, clock, ratio: 0.5, stuckAfterSeconds: 30 * DAY });
    expect(await rotation.status()).toMatchObject({ due: false, stuck: false });
    await clock.advance(YEAR * 1000 + DAY * 1000);
    expect(await rotation.status()).toMatchObject({ due: true, stuck: false });
    await rotation.prepare();
    expect(await rotation.status()).toMatchObject({ due: false, underWay: true, stuck: false });
    await clock.advance(31 * DAY * 1000);
    const stuck = await rotation.status();
    expect(stuck).toMatchObject({ stuck: true });
    expect(stuck.summary).toMatch(/intermediate rotation [0-9a-f]+: converge since .*\(stuck\)$/);
  });
});

describe('Rotator during a CA rotation', () => {
  it('renews at once when its issuer is not the active one, once per certificate', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    const ca = new FollowingAuthority(store, clock);
    let reportedActive: string | undefined;
    const rotator = new Rotator({
      store,
      name: 'relay-client-tls-secret',
      ca,
      ratio: 0.1,
      lifetimeSeconds: YEAR,
      subject: { commonName: 'cluster-1' },
      clock,
      activeIssuerKeyId: () => reportedActive,
    });
    const events: RotatorEvent[] = [];
    rotator.subscribe((e) => events.push(e));
    rotator.start();
    await clock.advance(1000);
    const first = readTlsMaterial((await store.get('relay-client-tls-secret'))!).certificatePem!;
    const rotation = new CaRotation({ ca: 'intermediate', store, clock });
    await rotation.prepare();
    await rotation.activate();
    reportedActive = await signingKeyId(store);
    rotator.poke();
    await clock.advance(1000);
    const second = readTlsMaterial((await store.get('relay-client-tls-secret'))!).certificatePem!;
    expect(inspectCertificate(second).authorityKeyId).toBe(reportedActive);
    expect(inspectCertificate(second).serialNumber).not.toBe(inspectCertificate(first).serialNumber);
    expect(events.filter((e) => e.type === 'issuer-changed')).toHaveLength(1);
    // a stale report (the old issuer named active again) renews once more at most, never in a loop
    reportedActive = inspectCertificate(first).authorityKeyId;
    for (let i = 0; i < 5; i++) {
      rotator.poke();
      await clock.advance(61_000);
    }
    expect(events.filter((e) => e.type === 'succeeded').length).toBeLessThanOrEqual(3);
    await rotator.stop();
  });
});

describe('CaRotator', () => {
  it('acts only as leader, and never activates before every consumer holds {A,B}, dwell or not', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock, { root: 2 * YEAR, intermediate: YEAR, server: 30 * DAY });
    const leader = new StaticLeaderElector({ identity: 'replica-1', clock });
    let held = '';
    const rotator = new CaRotator({
      store,
      clock,
      leader,
      cas: ['root'],
      ledger: new MemoryIssuanceLedger(),
      dwell: { convergeShare: 0.01 },
      convergence: [
        {
          observations: async () =>
            held
              ? [
                  {
                    consumer: 'cluster-7',
                    kind: 'agent',
                    bundleDigest: trustBundleDigest(held),
                    observedAt: clock.now(),
                  },
                ]
              : [],
        },
      ],
      expectedConsumers: [{ consumer: 'cluster-7', kind: 'agent' }],
    });
    held = await publishedBundle(store);
    await clock.advance(YEAR * 1000 + DAY * 1000);
    expect(await rotator.runOnce()).toEqual({});
    leader.start();
    expect(await rotator.runOnce()).toEqual({ root: 'prepared' });
    await clock.advance(30 * DAY * 1000);
    expect(await rotator.runOnce()).toEqual({ root: 'waiting' });
    const record = await rotator.rotation('root')!.record();
    expect(record?.convergence?.summary).toMatch(
      /^0\/1 consumers hold \{A,B\}; waiting for cluster-7 \(last seen 0 s ago\)$/,
    );
    held = await publishedBundle(store); // cluster-7 takes {A,B}
    expect(await rotator.runOnce()).toEqual({ root: 'activated' });
    expect(await rotator.runOnce()).toEqual({ root: 'retired' }); // nothing was issued under A: nothing to drain
    expect((await rotator.rotation('root')!.record())?.mode).toBe('automatic');
  });
});

describe('CaRotation: two processes at once', () => {
  it('two replicas preparing, activating and retiring at the same moment make one rotation and one B', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    const ledger = new MemoryIssuanceLedger();
    const [one, two] = [1, 2].map(() => new CaRotation({ ca: 'root', store, clock, ledger }));
    const [p1, p2] = await Promise.all([one!.prepare({ crossSign: true }), two!.prepare({ crossSign: true })]);
    expect(p1.id).toBe(p2.id);
    expect(p1.new?.fingerprintSha256).toBe(p2.new?.fingerprintSha256);
    expect(p1.newIntermediate?.fingerprintSha256).toBe(p2.newIntermediate?.fingerprintSha256);
    const slotsNow = (await store.list()).map((s) => s.name).filter((n) => n.startsWith('relay-ca-rotation-'));
    expect(slotsNow.sort()).toEqual(
      ['cross', 'int', 'old-int', 'old-root', 'root'].map((s) => `relay-ca-rotation-${p1.id}-${s}`).sort(),
    );
    const serverBefore = inspectCertificate(await servedChain(store));
    const [a1, a2] = await Promise.all([one!.activate(), two!.activate()]);
    expect(a1.revision).toBe(a2.revision);
    const serverAfter = inspectCertificate(await servedChain(store));
    expect(serverAfter.serialNumber).not.toBe(serverBefore.serialNumber);
    await Promise.all([one!.drain(), two!.drain()]);
    const [r1, r2] = await Promise.all([one!.retire(), two!.retire()]);
    expect(r1).toEqual(r2);
    // the server certificate was re-issued once: the one in force is the only one the ledger holds under B
    expect(await ledger.live({ issuerKeyId: r1.newIntermediate!.keyId, at: clock.now() })).toBe(1);
    expect(inspectCertificate(await servedChain(store)).serialNumber).toBe(serverAfter.serialNumber);
  });
});
