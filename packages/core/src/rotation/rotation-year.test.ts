/**
 * A year of rotations on the injected clock: a 30-day client certificate at grace ratio 1/3, three replicas
 * with in-process leader election sharing one secret, a provider serving it, and a leader that dies midway.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { LeaseElector } from '../leader/lease-elector.js';
import type { LeaseLock } from '../leader/lease-lock.js';
import { MemoryLeaseLock } from '../leader/memory-lease-lock.js';
import { CredentialProvider } from '../provider/credential-provider.js';
import { MemorySecretStore } from '../store/memory-store.js';
import type { PutOptions, SecretInput, SecretStore } from '../store/types.js';
import { createTestPki } from '../testing/pki.js';
import { Rotator, type RotatorEvent } from './rotator.js';

const DAY = 86_400_000;
const LIFETIME_DAYS = 30;
const RATIO = 1 / 3;
const JITTER = 0.1;

describe('a year of rotations', () => {
  it('rotates every certificate on time, never twice, with one writer at a time and never an expired certificate served', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const clock = new ManualClock(start, { settleTurns: 3 });
    const pki = await createTestPki({ clock, policy: { backdateSeconds: 0 } });
    const store = new MemorySecretStore();
    const lock = new MemoryLeaseLock();
    const HOUR = 3_600_000;
    const timings = { leaseDurationMs: 3 * HOUR, renewDeadlineMs: 2 * HOUR, retryPeriodMs: HOUR };

    const replicas = ['replica-a', 'replica-b', 'replica-c'].map((identity) => {
      const dead = { value: false };
      const elector = new LeaseElector({ lock: killable(lock, dead), identity, clock, ...timings });
      // every write goes through a wrapper that records who wrote and who was leader at that instant
      const recordingStore: SecretStore = {
        get: (name, options) => store.get(name, options),
        delete: (name, options) => store.delete(name, options),
        list: (options) => store.list(options),
        put: (name: string, secret: SecretInput, options?: PutOptions) => {
          const leaders = electors()
            .filter((e) => e.isLeader())
            .map((e) => e.identity);
          writes.push({ identity, at: clock.now().getTime(), leaders });
          return store.put(name, secret, options);
        },
      };
      const rotator = new Rotator({
        store: recordingStore,
        name: 'relay-client-tls-secret',
        ca: pki.ca,
        ratio: RATIO,
        jitter: JITTER,
        lifetimeSeconds: LIFETIME_DAYS * 86_400,
        subject: { commonName: 'agent-1' },
        dnsNames: ['agent-1'],
        leader: elector,
        clock,
        recheckIntervalMs: 6 * 3_600_000,
      });
      return { identity, elector, rotator, dead };
    });
    const writes: Array<{ identity: string; at: number; leaders: string[] }> = [];
    const electors = () => replicas.map((r) => r.elector);

    const events: Array<RotatorEvent & { identity: string; at: number }> = [];
    let inflight = 0;
    for (const r of replicas) {
      r.rotator.subscribe((e) => {
        events.push({ ...e, identity: r.identity, at: clock.now().getTime() });
        if (e.type === 'started') inflight++;
        if (e.type === 'succeeded' || e.type === 'failed' || e.type === 'superseded') inflight--;
      });
    }
    const provider = new CredentialProvider({
      name: 'relay-client-tls-secret',
      watcher: store,
      usage: 'clientAuth',
      // the loop below steps at most an hour at a time: an hourly wall-clock recheck keeps the year fast
      recheckIntervalMs: 3_600_000,
      clock,
    });
    await provider.start();

    for (const r of replicas) {
      r.elector.start();
      r.rotator.start();
    }

    const end = start + 365 * DAY;
    let killed = false;
    let checks = 0;
    while (clock.now().getTime() < end) {
      await clock.settle();
      const now = clock.now().getTime();
      // step to the next timer (so each rotation runs at its own instant), at most an hour at a time
      const next = Math.min(clock.nextTimerAt()?.getTime() ?? end, now + HOUR, end);
      await clock.advanceTo(next);
      // a rotation started by a timer finishes (key generation runs on real threads) before time moves on
      const deadline = Date.now() + 10_000;
      while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      expect(inflight).toBe(0);
      const material = provider.current();
      if (material) {
        checks++;
        expect(material.leaf.notAfter.getTime()).toBeGreaterThan(clock.now().getTime());
        expect(material.leaf.notBefore.getTime()).toBeLessThanOrEqual(clock.now().getTime());
      }
      if (!killed && clock.now().getTime() >= start + 100 * DAY) {
        // the leader dies: its rotator stops and it never renews the lease again (no release)
        const leader = replicas.find((r) => r.elector.isLeader())!;
        killed = true;
        leader.dead.value = true; // its lock I/O hangs from now on; the lease is never released
        await leader.rotator.stop();
      }
    }

    const succeeded = events.filter((e) => e.type === 'succeeded');
    const serials = succeeded.map((e) => (e.type === 'succeeded' ? e.serialNumber : ''));
    // 30 days at 1/3 renews every 20 days (a little earlier with jitter): 1 first issue + 18 or 19 renewals
    expect(succeeded.length).toBeGreaterThanOrEqual(19);
    expect(succeeded.length).toBeLessThanOrEqual(21);
    expect(new Set(serials).size).toBe(serials.length); // none twice
    expect(events.filter((e) => e.type === 'superseded')).toEqual([]);

    // on time: each renewal starts when its predecessor's scheduled renewal time comes, never before the jittered
    // bound and never later than one retry period (a new leader may need a lease duration)
    for (let i = 1; i < succeeded.length; i++) {
      const prev = succeeded[i - 1]!;
      const cur = succeeded[i]!;
      if (prev.type !== 'succeeded' || cur.type !== 'succeeded') continue;
      const life = prev.notAfter.getTime() - prev.notBefore.getTime();
      const exact = prev.notAfter.getTime() - RATIO * life;
      expect(cur.at).toBeGreaterThanOrEqual(Math.floor(exact - JITTER * RATIO * life) - 1000);
      expect(cur.at).toBeLessThanOrEqual(exact + timings.leaseDurationMs + timings.retryPeriodMs * 2.2);
    }

    // one writer at a time, and only a leader writes
    expect(writes.length).toBe(succeeded.length);
    for (const w of writes) expect(w.leaders).toEqual([w.identity]);
    // the leader changed when it died
    expect(new Set(writes.map((w) => w.identity)).size).toBeGreaterThanOrEqual(2);
    expect(checks).toBeGreaterThan(365 * 24);

    for (const r of replicas) {
      await r.rotator.stop();
      if (!r.dead.value) await r.elector.stop();
    }
    provider.close();
  }, 120_000);
});

/** A lock whose I/O hangs forever once `dead.value` is set, as if its process had died. */
function killable(lock: LeaseLock, dead: { value: boolean }): LeaseLock {
  const hang = () => new Promise<never>(() => undefined);
  return {
    describe: () => lock.describe(),
    get: (o) => (dead.value ? hang() : lock.get(o)),
    create: (r, o) => (dead.value ? hang() : lock.create(r, o)),
    update: (u, o) => (dead.value ? hang() : lock.update(u, o)),
  };
}
