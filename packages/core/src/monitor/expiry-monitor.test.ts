import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { tlsSecretData } from '../secret/tls-layout.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { createTestPki, type TestPki } from '../testing/pki.js';
import { ExpiryMonitor, type MonitorEvent } from './expiry-monitor.js';
import { registerExpiryMetrics } from './metrics.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
let clock: ManualClock;
let pki: TestPki;

beforeAll(async () => {
  clock = new ManualClock(T0);
  pki = await createTestPki({ clock, policy: { backdateSeconds: 0 } });
});

async function seeded() {
  clock.jumpTo(T0);
  const store = new MemorySecretStore();
  // a managed client certificate, a bring-your-own server certificate, the root and intermediate as CA secrets
  const client = await pki.issue({ commonName: 'agent', profile: 'client', lifetimeSeconds: 10 * 86_400 });
  const server = await pki.issue({ commonName: 'srv', dnsNames: ['srv'], lifetimeSeconds: 100 * 86_400, role: false });
  await store.put('client', client.secret);
  await store.put('server', { ...server.secret, annotations: { 'cert-manager.io/certificate-name': 'srv' } });
  await store.put('root', { data: tlsSecretData({ certificatePem: pki.rootPem, privateKeyPem: pki.rootKeyPem }) });
  return { store, client, server };
}

describe('ExpiryMonitor', () => {
  it('reports every certificate, managed or not, CA or leaf, with its times and state', async () => {
    const { store, client } = await seeded();
    const monitor = new ExpiryMonitor({ watcher: store, secrets: ['client', 'server', 'root', 'missing'], clock });
    await monitor.start();
    const byName = Object.fromEntries(monitor.snapshot().map((s) => [s.name, s]));
    expect(byName.client).toMatchObject({ state: 'ok', ready: true, managed: true, serialNumber: client.serialNumber });
    expect(byName.client!.renewAt!.getTime()).toBe(client.notAfter.getTime() - DAY); // ratio 0.1 of 10 days
    expect(byName.client!.secondsLeft).toBe(10 * 86_400);
    expect(byName.server).toMatchObject({ state: 'ok', managed: false });
    expect(byName.root).toMatchObject({ state: 'ok', isCA: true, managed: false });
    expect(byName.missing).toMatchObject({ state: 'missing', ready: false });
    monitor.stop();
  });

  it('moves through renewal-due and expired on the clock, and back to ok when the secret is renewed', async () => {
    const { store } = await seeded();
    const monitor = new ExpiryMonitor({ watcher: store, secrets: [{ name: 'client', ratio: 0.2 }], clock });
    const states: string[] = [];
    monitor.subscribe((e: MonitorEvent) => {
      if (e.type === 'status') states.push(e.status.state);
    });
    await monitor.start();
    await clock.advance(8 * DAY - 1000);
    expect(states).toEqual(['ok']);
    await clock.advance(1000);
    expect(states).toEqual(['ok', 'renewal-due']);
    await clock.advance(2 * DAY);
    expect(states).toEqual(['ok', 'renewal-due', 'expired']);
    expect(monitor.snapshot()[0]).toMatchObject({ ready: false, secondsLeft: 0 });
    const renewed = await pki.issue({ commonName: 'agent', profile: 'client', lifetimeSeconds: 10 * 86_400 });
    await store.put('client', renewed.secret);
    await clock.settle();
    expect(states).toEqual(['ok', 'renewal-due', 'expired', 'ok']);
    monitor.stop();
  });

  it('reports a certificate paired with the wrong key, and garbage, as invalid', async () => {
    const { store, client, server } = await seeded();
    await store.put('client', { data: tlsSecretData({ ...client, privateKeyPem: server.privateKeyPem }) });
    await store.put('server', { data: { 'tls.crt': new TextEncoder().encode('garbage') } });
    const monitor = new ExpiryMonitor({ watcher: store, secrets: ['client', 'server'], clock });
    await monitor.start();
    const [c, s] = monitor.snapshot();
    expect(c).toMatchObject({ state: 'invalid', errorCode: 'CERTLOOP_KEY_MISMATCH' });
    expect(s).toMatchObject({ state: 'invalid', errorCode: 'CERTLOOP_INVALID_PEM' });
    monitor.stop();
  });

  it('exports Prometheus metrics in a registry the caller owns', async () => {
    const { store, client } = await seeded();
    const monitor = new ExpiryMonitor({ watcher: store, secrets: ['client', 'server'], clock });
    await monitor.start();
    monitor.recordRotation('client', 'succeeded');
    monitor.recordRotation('client', 'succeeded');
    monitor.recordRotation('client', 'failed');
    const registry = new Registry();
    const unregister = await registerExpiryMetrics({ monitor, registry });
    await clock.advance(DAY);
    const text = await registry.metrics();
    const notAfter = Math.floor(client.notAfter.getTime() / 1000);
    expect(text).toContain(`certloop_certificate_not_after_seconds{secret="client"} ${notAfter}`);
    expect(text).toContain(`certloop_certificate_seconds_left{secret="client"} ${9 * 86_400}`);
    expect(text).toContain('certloop_certificate_ready{secret="server"} 1');
    expect(text).toContain('certloop_certificate_managed{secret="server"} 0');
    expect(text).toContain('certloop_rotations_total{secret="client",result="succeeded"} 2');
    expect(text).toContain('certloop_rotations_total{secret="client",result="failed"} 1');
    unregister();
    expect(await registry.metrics()).not.toContain('certloop_');
    monitor.stop();
  });

  it('rejects a bad grace ratio with a typed error', () => {
    const store = new MemorySecretStore();
    expect(() => new ExpiryMonitor({ watcher: store, secrets: ['a'], ratio: 2 })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    expect(() => new ExpiryMonitor({ watcher: store, secrets: [{ name: 'a', ratio: 0 }] })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });

  // Regression (issue 11): a certificate made not-yet-valid by a backwards step of the wall clock went unreported
  // until its next time boundary, days away.
  it('reports a certificate made not-yet-valid by a wall-clock step back, within the recheck interval', async () => {
    const { store } = await seeded();
    const monitor = new ExpiryMonitor({ watcher: store, secrets: ['client'], clock, recheckIntervalMs: 30_000 });
    const events: MonitorEvent[] = [];
    monitor.subscribe((e) => events.push(e));
    await monitor.start();
    await clock.advance(DAY);
    clock.stepWall(-2 * DAY);
    expect(monitor.snapshot()[0]).toMatchObject({ state: 'not-yet-valid', ready: false });
    await clock.advance(30_000);
    const states = events.flatMap((e) => (e.type === 'status' ? [e.status.state] : []));
    expect(states).toEqual(['ok', 'not-yet-valid']);
    clock.stepWall(2 * DAY);
    await clock.advance(30_000);
    expect(events.flatMap((e) => (e.type === 'status' ? [e.status.state] : []))).toEqual(['ok', 'not-yet-valid', 'ok']);
    monitor.stop();
    expect(() => new ExpiryMonitor({ watcher: store, secrets: ['a'], recheckIntervalMs: 0 })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});
