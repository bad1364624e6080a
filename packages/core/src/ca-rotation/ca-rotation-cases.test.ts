import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { CertloopError } from '../errors.js';
import { StaticLeaderElector } from '../leader/in-process-elector.js';
import { Rotator } from '../rotation/rotator.js';
import type { RotatorEvent } from '../rotation/rotator-events.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import { MemoryIssuanceLedger } from '../store/issuance-ledger.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { inspectCertificate } from '../x509/inspect.js';
import { CaRotation } from './ca-rotation.js';
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

async function codeOf(pending: Promise<unknown>): Promise<string | undefined> {
  try {
    await pending;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    return (err as CertloopError).code;
  }
}

describe('CaRotation: leadership, expiry, status', () => {
  it('moves a rotation only while leading; status needs no leadership', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const store = new MemorySecretStore();
    await relayPki(store, clock);
    const leader = new StaticLeaderElector({ identity: 'replica-1', clock });
    const rotation = new CaRotation({ ca: 'intermediate', store, clock, leader });
    expect(await codeOf(rotation.prepare())).toBe('CERTLOOP_NOT_LEADER');
    expect(await rotation.record()).toBeUndefined();
    expect((await rotation.status()).underWay).toBe(false);
    leader.start();
    expect((await rotation.prepare()).phase).toBe('converge');
    await leader.stop();
    expect(await codeOf(rotation.activate())).toBe('CERTLOOP_NOT_LEADER');
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
