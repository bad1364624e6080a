/**
 * DESIGN.md's relay flows on Kubernetes, against the emulator: bootstrapRelayPki in `gloo-mesh`; three agent
 * replicas electing their rotator with a Lease (KubernetesLeaseElector), each serving the client certificate from
 * its own CredentialProvider over the shared informer; managed (certloop issues and rotates) and bring-your-own
 * (a cert-manager-style Secret: served and reloaded, never written). One ManualClock drives every replica; between
 * steps the real HTTP calls to the emulator settle.
 */
import {
  bootstrapRelayPki,
  CredentialProvider,
  isManagedSecret,
  ManualClock,
  DEFAULT_RELAY_SECRET_NAMES as N,
  Rotator,
  type RotatorEvent,
} from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesLeaseElector } from './lease-elector.js';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const NS = 'gloo-mesh';
let emulator: KubernetesApiEmulator;
let clock: ManualClock;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: NS });
  clock = new ManualClock(Date.now());
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await emulator.close();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
async function until(done: () => boolean, stepMs = 500, maxSteps = 400): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (done()) return;
    await clock.advance(stepMs);
    await settle();
  }
  throw new Error('condition not reached');
}

function store(id: string, writeBringYourOwn = false) {
  const s = new KubernetesSecretStore({
    kubeConfig: emulator.kubeConfigFor({ token: id }),
    namespace: NS,
    clock,
    writeBringYourOwn,
  });
  cleanups.push(() => s.close());
  return s;
}

describe('relay flows on Kubernetes', () => {
  it('managed: bootstrap, then three replicas elect one rotator that issues and rotates; every provider follows', async () => {
    const admin = store('admin');
    const boot = await bootstrapRelayPki({ store: admin, clock });
    expect(boot.created.sort()).toEqual([N.root, N.server, N.signing, N.token].sort());
    expect((await bootstrapRelayPki({ store: admin, clock })).created).toEqual([]);
    expect((await admin.get(N.server))?.type).toBe('kubernetes.io/tls');

    const replicas = ['agent-0', 'agent-1', 'agent-2'].map((id) => {
      const s = store(id);
      const elector = new KubernetesLeaseElector({
        kubeConfig: emulator.kubeConfigFor({ token: id }),
        namespace: NS,
        name: 'relay-agent-rotator',
        identity: id,
        clock,
      });
      const rotator = new Rotator({
        store: s,
        name: N.client,
        ca: boot.signingCa,
        ratio: 0.5,
        jitter: 0,
        lifetimeSeconds: 3600,
        subject: { commonName: 'agent' },
        dnsNames: ['agent'],
        leader: elector,
        clock,
        recheckIntervalMs: 60_000,
      });
      const events: RotatorEvent[] = [];
      rotator.subscribe((e) => events.push(e));
      const provider = new CredentialProvider({
        name: N.client,
        watcher: s,
        usage: 'clientAuth',
        trustBundlePem: boot.trustBundlePem,
        clock,
      });
      cleanups.push(() => elector.stop());
      cleanups.push(() => rotator.stop());
      cleanups.push(() => provider.close());
      return { id, elector, rotator, provider, events };
    });
    for (const r of replicas) {
      r.elector.start();
      r.rotator.start();
      void r.provider.start();
    }
    const serial = (r: (typeof replicas)[number]) => r.provider.current()?.leaf.serialNumber;
    await until(() => replicas.every((r) => serial(r) !== undefined));
    const leaders = replicas.filter((r) => r.elector.isLeader());
    expect(leaders).toHaveLength(1);
    const first = serial(replicas[0]!);
    expect(replicas.every((r) => serial(r) === first)).toBe(true);
    const issued = (await admin.get(N.client))!;
    expect(isManagedSecret(issued)).toBe(true);

    // half the lifetime later the leader rotates; every replica's provider swaps to the new certificate
    await until(() => replicas.every((r) => serial(r) !== undefined && serial(r) !== first), 30_000, 200);
    const second = serial(replicas[0]!);
    expect(replicas.every((r) => serial(r) === second)).toBe(true);
    const writers = replicas.filter((r) => r.events.some((e) => e.type === 'succeeded'));
    expect(writers.map((r) => r.id)).toEqual(leaders.map((r) => r.id));
  });

  it('bring-your-own: a cert-manager-style Secret is served and reloaded, and certloop never writes it', async () => {
    const admin = store('cert-manager', true); // plays cert-manager's part
    const pki = await createTestPki({ clock });
    const certManager = {
      'cert-manager.io/certificate-name': 'relay-server',
      'cert-manager.io/issuer-name': 'ca-issuer',
    };
    const first = await pki.issue({
      commonName: 'relay-server',
      dnsNames: ['localhost'],
      role: false,
      profile: 'server',
    });
    await admin.put(N.server, { ...first.secret, annotations: certManager });

    const replicas = ['server-0', 'server-1', 'server-2'].map((id) => {
      const s = store(id);
      const elector = new KubernetesLeaseElector({
        kubeConfig: emulator.kubeConfigFor({ token: id }),
        namespace: NS,
        name: 'relay-server-rotator',
        identity: id,
        clock,
      });
      const rotator = new Rotator({
        store: s,
        name: N.server,
        ca: pki.ca,
        ratio: 0.5,
        lifetimeSeconds: 3600,
        profile: 'server',
        subject: { commonName: 'relay-server' },
        leader: elector,
        clock,
        recheckIntervalMs: 60_000,
      });
      const events: RotatorEvent[] = [];
      rotator.subscribe((e) => events.push(e));
      const provider = new CredentialProvider({ name: N.server, watcher: s, usage: 'serverAuth', clock });
      cleanups.push(() => elector.stop());
      cleanups.push(() => rotator.stop());
      cleanups.push(() => provider.close());
      return { elector, rotator, provider, events };
    });
    for (const r of replicas) {
      r.elector.start();
      r.rotator.start();
      void r.provider.start();
    }
    await until(() => replicas.every((r) => r.provider.current()?.leaf.serialNumber === first.serialNumber));
    await until(() => replicas.some((r) => r.events.some((e) => e.type === 'skipped-bring-your-own')));

    const renewed = await pki.issue({
      commonName: 'relay-server',
      dnsNames: ['localhost'],
      role: false,
      profile: 'server',
    });
    const written = await admin.put(N.server, { ...renewed.secret, annotations: certManager });
    await until(() => replicas.every((r) => r.provider.current()?.leaf.serialNumber === renewed.serialNumber));
    await clock.advance(2 * 3_600_000);
    await settle();
    expect((await admin.get(N.server))!.version).toBe(written.version);
    expect(replicas.every((r) => !r.events.some((e) => e.type === 'started' || e.type === 'succeeded'))).toBe(true);
  });
});
