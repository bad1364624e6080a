import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateAuthority, SignRequest } from '../ca/types.js';
import { ManualClock } from '../clock/index.js';
import { CertloopError } from '../errors.js';
import { StaticLeaderElector } from '../leader/in-process-elector.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { createTestPki, type TestPki } from '../testing/pki.js';
import { inspectCertificate } from '../x509/inspect.js';
import { Rotator, type RotatorEvent, type RotatorOptions } from './rotator.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
let clock: ManualClock;
let pki: TestPki;
const stops: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  clock = new ManualClock(T0);
  pki = await createTestPki({ clock, policy: { backdateSeconds: 0 } });
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function rotator(options: Partial<RotatorOptions> & { store: MemorySecretStore }) {
  const r = new Rotator({
    name: 'relay-client-tls-secret',
    ca: pki.ca,
    ratio: 0.1,
    jitter: 0,
    lifetimeSeconds: 10 * 86_400,
    subject: { commonName: 'agent-1' },
    dnsNames: ['agent-1'],
    clock,
    recheckIntervalMs: 3_600_000,
    ...options,
  });
  const events: RotatorEvent[] = [];
  r.subscribe((e) => events.push(e));
  stops.push(() => r.stop());
  return { r, events };
}

function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not reached'));
      else setTimeout(check, 2);
    };
    check();
  });
}

/** The agent's 10-day client certificate, as the rotator would have stored it. */
const agentLeaf = () =>
  pki.issue({ commonName: 'agent-1', dnsNames: ['agent-1'], profile: 'client', lifetimeSeconds: 10 * 86_400 });

const leafOf = async (store: MemorySecretStore) => {
  const s = await store.get('relay-client-tls-secret');
  return s ? inspectCertificate(readTlsMaterial(s).certificatePem!) : undefined;
};

/** A rotator started at T0 on an empty store, once it has issued its first certificate and scheduled its renewal. */
async function firstIssuedAtT0() {
  clock.jumpTo(T0);
  const store = new MemorySecretStore();
  const { r, events } = rotator({ store });
  r.start();
  await until(() => events.some((e) => e.type === 'scheduled'));
  const first = await leafOf(store);
  return { store, r, events, first };
}

describe('Rotator', () => {
  it('issues a first certificate when the secret is missing, then rotates it when the grace ratio is reached', async () => {
    const { store, events, first } = await firstIssuedAtT0();
    expect(first?.subject.commonName).toBe('agent-1');
    expect(first?.sans.dnsNames).toEqual(['agent-1']);
    const scheduled = events.find((e) => e.type === 'scheduled');
    // 10-day certificate at ratio 0.1: rotation one day before expiry
    expect(scheduled?.type === 'scheduled' && scheduled.renewAt.getTime()).toBe(first!.notAfter.getTime() - DAY);

    await clock.advance(9 * DAY - 1000);
    expect((await leafOf(store))?.serialNumber).toBe(first!.serialNumber);
    await clock.advance(1000);
    await until(() => events.filter((e) => e.type === 'succeeded').length === 2);
    const second = await leafOf(store);
    expect(second!.serialNumber).not.toBe(first!.serialNumber);
    expect(second!.notBefore.getTime()).toBe(T0 + 9 * DAY);
    const stored = await store.get('relay-client-tls-secret');
    expect(stored!.annotations['certloop.io/managed-by']).toBe('certloop');
    expect(stored!.annotations['certloop.io/serial']).toBe(second!.serialNumber);
    expect(Object.keys(stored!.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
  });

  it('rotates at once a credential found past its renewal time (the process was down)', async () => {
    clock.jumpTo(T0);
    const store = new MemorySecretStore();
    const leaf = await agentLeaf();
    await store.put('relay-client-tls-secret', leaf.secret);
    clock.jumpTo(T0 + 9.5 * DAY);
    const { r, events } = rotator({ store });
    r.start();
    await until(() => events.some((e) => e.type === 'succeeded'));
    expect((await leafOf(store))!.notBefore.getTime()).toBe(T0 + 9.5 * DAY);
  });

  it('backs off with jitter on failure and never touches the stored credential', async () => {
    clock.jumpTo(T0);
    const store = new MemorySecretStore();
    const leaf = await agentLeaf();
    const original = await store.put('relay-client-tls-secret', leaf.secret);
    let calls = 0;
    const flaky: CertificateAuthority = {
      async sign(req: SignRequest) {
        calls++;
        if (calls <= 3) throw new CertloopError('CERTLOOP_TIMEOUT', 'CA unavailable');
        return pki.ca.sign(req);
      },
      trustBundle: () => pki.ca.trustBundle(),
    };
    clock.jumpTo(T0 + 9 * DAY);
    const { r, events } = rotator({ store, ca: flaky, backoff: { initialMs: 1000, maxMs: 60_000 }, random: () => 1 });
    r.start();
    await until(() => events.filter((e) => e.type === 'failed').length === 1);
    expect((await store.get('relay-client-tls-secret'))!.version).toBe(original.version);
    const delays: number[] = [];
    while (!events.some((e) => e.type === 'succeeded')) {
      const failed = events.filter((e) => e.type === 'failed');
      const last = failed[failed.length - 1];
      if (last?.type === 'failed' && delays.length < failed.length) {
        delays.push(last.retryAt.getTime() - clock.now().getTime());
        expect(last.error.code).toBe('CERTLOOP_TIMEOUT');
        expect((await store.get('relay-client-tls-secret'))!.version).toBe(original.version);
        await clock.advanceTo(last.retryAt);
      }
      await until(
        () =>
          events.some((e) => e.type === 'succeeded') ||
          events.filter((e) => e.type === 'failed').length > delays.length,
      );
    }
    expect(delays).toEqual([1000, 2000, 4000]);
    expect(calls).toBe(4);
  });

  it('never writes a bring-your-own secret (no certloop annotation, or cert-manager annotations)', async () => {
    clock.jumpTo(T0);
    const byo: Record<string, string>[] = [
      {},
      { 'certloop.io/managed-by': 'certloop', 'cert-manager.io/certificate-name': 'x' },
    ];
    for (const annotations of byo) {
      const store = new MemorySecretStore();
      const leaf = await agentLeaf();
      const stored = await store.put('relay-client-tls-secret', { ...leaf.secret, annotations });
      clock.jumpTo(T0 + 9.9 * DAY);
      const { r, events } = rotator({ store });
      r.start();
      await until(() => events.some((e) => e.type === 'skipped-bring-your-own'));
      await clock.advance(DAY);
      await r.stop();
      expect((await store.get('relay-client-tls-secret'))!.version).toBe(stored.version);
      expect(events.some((e) => e.type === 'started')).toBe(false);
      clock.jumpTo(T0);
    }
  });

  it('refuses a CA answer for another identity and keeps the stored credential', async () => {
    clock.jumpTo(T0);
    const store = new MemorySecretStore();
    const leaf = await agentLeaf();
    const original = await store.put('relay-client-tls-secret', leaf.secret);
    const evil: CertificateAuthority = {
      async sign() {
        const other = await pki.issue({ commonName: 'agent-2', dnsNames: ['agent-2'], profile: 'client' });
        return { ...other, certificatePem: other.leafPem, chainPem: pki.ca.certificatePem };
      },
      trustBundle: () => pki.ca.trustBundle(),
    };
    clock.jumpTo(T0 + 9.5 * DAY);
    const { r, events } = rotator({ store, ca: evil });
    r.start();
    await until(() => events.some((e) => e.type === 'failed'));
    const failed = events.find((e) => e.type === 'failed');
    expect(failed?.type === 'failed' && failed.error.code).toBe('CERTLOOP_CA_RESPONSE_INVALID');
    expect((await store.get('relay-client-tls-secret'))!.version).toBe(original.version);
  });

  it('does nothing but report while not leader, and rotates once elected', async () => {
    clock.jumpTo(T0);
    const store = new MemorySecretStore();
    const leader = new StaticLeaderElector({ identity: 'replica-1', clock });
    const { r, events } = rotator({ store, leader });
    r.start();
    await until(() => events.some((e) => e.type === 'skipped-not-leader'));
    expect(await store.get('relay-client-tls-secret')).toBeUndefined();
    leader.start();
    await until(() => events.some((e) => e.type === 'succeeded'));
    expect(await leafOf(store)).toBeDefined();
    await leader.stop();
  });

  it('abandons a rotation whose leadership is lost before the write', async () => {
    clock.jumpTo(T0);
    const store = new MemorySecretStore();
    const leader = new StaticLeaderElector({ identity: 'replica-1', clock });
    leader.start();
    const losing: CertificateAuthority = {
      async sign(req: SignRequest) {
        const result = await pki.ca.sign(req);
        await leader.stop(); // leadership ends while the CA was answering
        return result;
      },
      trustBundle: () => pki.ca.trustBundle(),
    };
    const { r, events } = rotator({ store, ca: losing, leader });
    r.start();
    await until(() => events.some((e) => e.type === 'failed'));
    const failed = events.find((e) => e.type === 'failed');
    expect(failed?.type === 'failed' && failed.error.code).toMatch(/CERTLOOP_(LEADERSHIP_LOST|ABORTED)/);
    expect(await store.get('relay-client-tls-secret')).toBeUndefined();
  });

  it('loses a race to a newer certificate: compare-and-swap keeps exactly one, the newest', async () => {
    clock.jumpTo(T0);
    const store = new MemorySecretStore();
    const leaf = await agentLeaf();
    await store.put('relay-client-tls-secret', leaf.secret);
    clock.jumpTo(T0 + 9.5 * DAY);
    const one = rotator({ store });
    const two = rotator({ store });
    one.r.start();
    two.r.start();
    const settled = (events: RotatorEvent[]) => events.some((e) => e.type === 'succeeded' || e.type === 'superseded');
    await until(() => settled(one.events) && settled(two.events));
    const wins = [...one.events, ...two.events].filter((e) => e.type === 'succeeded');
    const stored = await leafOf(store);
    expect(wins.map((e) => e.type === 'succeeded' && e.serialNumber)).toContain(stored!.serialNumber);
    expect(stored!.notAfter.getTime()).toBeGreaterThan(leaf.notAfter.getTime());
  });

  it('rejects bad configuration with typed errors', () => {
    const store = new MemorySecretStore();
    const base = { store, name: 's', ca: pki.ca, lifetimeSeconds: 60, subject: { commonName: 'a' } };
    expect(() => new Rotator({ ...base, ratio: 1 })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    expect(() => new Rotator({ ...base, ratio: 0.5, jitter: 1 })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    expect(() => new Rotator({ ...base, ratio: 0.5, lifetimeSeconds: 0 })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    expect(() => new Rotator({ ...base, ratio: 0.5, subject: { commonName: '' } })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});

describe('Rotator under wall-clock steps (issue 11)', () => {
  // Regression: a managed certificate made not-yet-valid by a backwards step of the wall clock was left in place
  // until its renewal time, so nothing could use it for two days.
  it('reports a stored certificate made not-yet-valid by a 2-day step back and reissues it within the recheck interval', async () => {
    // a CA of its own, created well before the step's target, on a clock that is stepped alone
    const own = new ManualClock(T0 - 30 * DAY);
    const ownPki = await createTestPki({ clock: own, policy: { backdateSeconds: 0 } });
    own.jumpTo(T0);
    const store = new MemorySecretStore();
    const leaf = await ownPki.issue({
      commonName: 'agent-1',
      dnsNames: ['agent-1'],
      profile: 'client',
      lifetimeSeconds: 10 * 86_400,
    });
    await store.put('relay-client-tls-secret', leaf.secret);
    const { r, events } = rotator({ store, ca: ownPki.ca, clock: own, recheckIntervalMs: 60_000 });
    r.start();
    await until(() => events.some((e) => e.type === 'scheduled'));
    await own.advance(3_600_000);
    own.stepWall(-2 * DAY);
    expect(events.some((e) => e.type === 'not-yet-valid')).toBe(false);
    await own.advance(60_000);
    await until(() => events.some((e) => e.type === 'succeeded'));
    const notice = events.find((e) => e.type === 'not-yet-valid');
    expect(notice).toMatchObject({ serialNumber: leaf.serialNumber, notBefore: leaf.notBefore });
    const reissued = (await leafOf(store))!;
    expect(reissued.serialNumber).not.toBe(leaf.serialNumber);
    // valid on the (stepped) wall clock it was issued at
    expect(reissued.notBefore.getTime()).toBeLessThanOrEqual(own.now().getTime());
    expect(reissued.notAfter.getTime()).toBeGreaterThan(own.now().getTime());
    // and it is not rotated again: the next plan waits for its renewal time
    await own.advance(5 * 60_000);
    expect(events.filter((e) => e.type === 'succeeded')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'not-yet-valid')).toHaveLength(1);
  });
});

describe('Rotator.renewNow', () => {
  it('renews a certificate that is not due yet, once, and then schedules the new one as usual', async () => {
    const { store, r, events, first } = await firstIssuedAtT0();
    r.renewNow();
    await until(() => events.filter((e) => e.type === 'succeeded').length === 2);
    const second = await leafOf(store);
    expect(second?.serialNumber).not.toBe(first?.serialNumber);
    await until(() => events.filter((e) => e.type === 'scheduled').length === 2);
    expect(events.filter((e) => e.type === 'started')).toHaveLength(2);
  });
});
