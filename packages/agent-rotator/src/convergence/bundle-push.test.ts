/**
 * The server distributes its trust bundle over the relay: an agent whose store is not the server's (an agent in
 * another cluster, as in Gloo Mesh) takes {A, B} at a root rotation's prepare and {B} at its retire from the
 * server itself, so the rotation converges and finishes with no one copying secrets and no failed call. The agent
 * refuses a bundle the current server certificate does not validate against, and never writes a bring-your-own
 * root secret; a fixed `trustBundlePem` is replaced in memory.
 */
import {
  CaRotation,
  createSelfSignedCa,
  DEFAULT_RELAY_SECRET_NAMES,
  generateKeyPair,
  InProcessLeaderElector,
  MemoryLeaseLock,
  MemorySecretStore,
  managedAnnotations,
  readTlsMaterial,
  StoreIssuanceLedger,
  tlsSecretData,
  trustBundleDigest,
} from '@certloop/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayAgent, RelayAgentEvent } from '../agent/relay-agent.js';
import { startTestRelay, type TestRelay, until } from '../testing/index.js';

const names = DEFAULT_RELAY_SECRET_NAMES;
const encoder = new TextEncoder();

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

/** An agent cluster's own store: the root's certificate only (managed or bring-your-own) and the token. */
async function agentStore(r: TestRelay, root: 'managed' | 'bring-your-own'): Promise<MemorySecretStore> {
  const store = new MemorySecretStore();
  await store.put(names.root, {
    type: 'kubernetes.io/tls',
    data: tlsSecretData({ certificatePem: r.trustBundlePem, trustBundlePem: r.trustBundlePem }),
    annotations: root === 'managed' ? managedAnnotations({ role: 'root' }) : {},
  });
  await store.put(names.token, { type: 'Opaque', data: { token: encoder.encode(r.token) }, annotations: {} });
  return store;
}

async function bundleOf(store: MemorySecretStore): Promise<string> {
  return readTlsMaterial((await store.get(names.root))!).trustBundlePem!;
}

function watch(agent: RelayAgent) {
  const failures: string[] = [];
  const adopted: Array<Extract<RelayAgentEvent, { type: 'trust-bundle-adopted' }>> = [];
  const refused: Array<Extract<RelayAgentEvent, { type: 'trust-bundle-refused' }>> = [];
  agent.subscribe((e) => {
    if (e.type === 'rotation' && e.event.type === 'failed') failures.push(`renewal ${e.event.error.code}`);
    if (
      e.type === 'connection' &&
      (e.event.type === 'connect-failed' || (e.event.type === 'disconnected' && e.event.error))
    )
      failures.push(e.event.type);
    if (e.type === 'trust-bundle-adopted') adopted.push(e);
    if (e.type === 'trust-bundle-refused') refused.push(e);
  });
  return { failures, adopted, refused };
}

describe('trust bundle pushed by the server', () => {
  it('carries an agent with its own store through a root rotation: 0 failures, nobody copies a secret', async () => {
    const serverStore = new MemorySecretStore();
    const ledger = new StoreIssuanceLedger({ store: serverStore });
    relay = await startTestRelay({
      store: serverStore,
      convergence: { replicaId: 'server-a' },
      heartbeatIntervalMs: 200,
      ledger,
    });
    const r = relay;
    const store = await agentStore(r, 'managed');
    const agent = r.agent({ cluster: 'cluster-1', store, heartbeatIntervalMs: 200 });
    const seen = watch(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    expect(agent.trustBundleDigest).toBe(trustBundleDigest(r.trustBundlePem));

    const rotation = new CaRotation({
      ca: 'root',
      store: serverStore,
      convergence: [r.server],
      renewalRequesters: [r.server],
      ledger,
    });
    const prepared = await rotation.prepare({ crossSign: true, reason: 'test' });
    // the agent's store is never touched by the rotation: the agent takes {A, B} from the server
    await until(async () => (await rotation.checkConvergence()).complete);
    expect(trustBundleDigest(await bundleOf(store))).toBe(prepared.bundles.during);
    expect(agent.trustBundleDigest).toBe(prepared.bundles.during);
    expect(seen.adopted.map((a) => [a.digest, a.stored])).toEqual([[prepared.bundles.during, true]]);

    await rotation.activate();
    const first = await rotation.drain();
    await until(async () => (await rotation.drain()).liveUnderOld === 0);
    await until(() => r.server.connections().every((c) => c.issuerKeyId === first.activeIssuerKeyId));
    expect(agent.status().connection.state).toBe('connected');

    const retired = await rotation.retire();
    expect(retired.phase).toBe('retired');
    const after = retired.bundles.after!;
    await until(async () => trustBundleDigest(await bundleOf(store)) === after);
    await until(async () => (await r.server.observations()).every((o) => o.bundleDigest === after));
    expect(seen.adopted.map((a) => a.digest)).toEqual([prepared.bundles.during, after]);
    expect(seen.refused).toEqual([]);
    expect(seen.failures).toEqual([]);
    expect(r.server.metrics().refused).toEqual({});
    // still served after retire, with the new bundle only
    await agent.stop();
    const again = r.agent({ cluster: 'cluster-1', store, heartbeatIntervalMs: 200 });
    await again.start();
    await until(() => again.status().connection.state === 'connected');
  });

  it('the elected replica of a cluster writes the bundle once; the others follow the secret', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const store = await agentStore(r, 'managed');
    const lock = new MemoryLeaseLock();
    const replicas = [1, 2, 3].map((i) =>
      r.agent({
        cluster: 'cluster-1',
        agentName: `replica-${i}`,
        store,
        leader: new InProcessLeaderElector({ lock, identity: `replica-${i}` }),
      }),
    );
    const seen = replicas.map(watch);
    await Promise.all(replicas.map((a) => a.start()));
    await until(() => replicas.every((a) => a.status().connection.state === 'connected'));
    const before = (await store.get(names.root))!;
    const rotation = new CaRotation({ ca: 'root', store: r.store, convergence: [r.server] });
    const prepared = await rotation.prepare({ crossSign: true });
    await until(async () => (await rotation.checkConvergence()).complete);
    expect(replicas.map((a) => a.trustBundleDigest)).toEqual(Array(3).fill(prepared.bundles.during));
    expect(seen.flatMap((s) => s.adopted.map((a) => a.stored))).toEqual([true]);
    expect(seen.flatMap((s) => [...s.refused, ...s.failures])).toEqual([]);
    const after = (await store.get(names.root))!;
    expect(after.version).not.toBe(before.version);
    expect(readTlsMaterial(after).certificatePem).toBe(readTlsMaterial(after).trustBundlePem);
  });

  it('a bundle offered while no replica leads is written once one is elected', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const store = await agentStore(r, 'managed');
    const leader = new InProcessLeaderElector({ lock: new MemoryLeaseLock(), identity: 'replica-1' });
    const agent = r.agent({ cluster: 'cluster-1', store, leader, manageLeader: false });
    const seen = watch(agent);
    let offers = 0;
    agent.subscribe((e) => {
      if (e.type === 'connection' && e.event.type === 'trust-bundle-offered') offers++;
    });
    leader.start();
    await agent.start();
    await until(() => agent.status().connection.state === 'connected' && offers === 1);
    await leader.stop();
    const rotation = new CaRotation({ ca: 'root', store: r.store, convergence: [r.server] });
    const prepared = await rotation.prepare({ crossSign: true });
    await until(() => offers === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.adopted).toEqual([]);
    leader.start();
    await until(async () => (await rotation.checkConvergence()).complete);
    expect(seen.adopted.map((a) => [a.digest, a.stored])).toEqual([[prepared.bundles.during, true]]);
    await leader.stop();
  });

  it('does not write in the store of the server (the signing secret is there): the rotation writes its root', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const store = await agentStore(r, 'managed');
    const signing = (await r.store.get(names.signing))!;
    await store.put(names.signing, { ...signing, data: { 'tls.crt': signing.data['tls.crt']! } });
    const agent = r.agent({ cluster: 'cluster-1', store });
    const seen = watch(agent);
    let offers = 0;
    agent.subscribe((e) => {
      if (e.type === 'connection' && e.event.type === 'trust-bundle-offered') offers++;
    });
    await agent.start();
    await until(() => agent.status().connection.state === 'connected' && offers === 1);
    const before = (await store.get(names.root))!;
    await new CaRotation({ ca: 'root', store: r.store, convergence: [r.server] }).prepare({ crossSign: true });
    await until(() => offers === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.adopted).toEqual([]);
    expect(seen.refused).toEqual([]);
    expect((await store.get(names.root))!.version).toBe(before.version);
  });

  it('refuses a bundle the current server certificate does not validate against', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const store = await agentStore(r, 'managed');
    const agent = r.agent({ cluster: 'cluster-1', store });
    const seen = watch(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const before = await store.get(names.root);

    // the server publishes an unrelated root only: adopting it would lock the agent out
    const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const other = await createSelfSignedCa({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'unrelated root' },
      lifetimeSeconds: 86_400,
    });
    const signing = (await r.store.get(names.signing))!;
    await r.store.put(
      names.signing,
      { ...signing, data: { ...signing.data, 'ca.crt': encoder.encode(other.certificatePem) } },
      { expectedVersion: signing.version },
    );
    await until(() => seen.refused.length > 0);
    expect(seen.refused[0]!.error.code).toBe('CERTLOOP_TRUST_BUNDLE_REFUSED');
    expect(seen.refused[0]!.error.details?.refusal).toBe('locks-out');
    expect(seen.adopted).toEqual([]);
    expect((await store.get(names.root))!.version).toBe(before!.version);
    expect(agent.trustBundleDigest).toBe(trustBundleDigest(r.trustBundlePem));
  });

  it('never writes a bring-your-own root secret, and says it cannot adopt', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const store = await agentStore(r, 'bring-your-own');
    const agent = r.agent({ cluster: 'cluster-2', store });
    const seen = watch(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const before = await store.get(names.root);
    const rotation = new CaRotation({ ca: 'root', store: r.store, convergence: [r.server] });
    await rotation.prepare({ crossSign: true });
    await until(() => seen.refused.length > 0);
    expect(seen.refused[0]!.error.code).toBe('CERTLOOP_TRUST_BUNDLE_REFUSED');
    expect(seen.refused[0]!.error.details?.refusal).toBe('bring-your-own');
    expect((await store.get(names.root))!.version).toBe(before!.version);
    expect(agent.trustBundleDigest).toBe(trustBundleDigest(r.trustBundlePem));
    expect((await rotation.checkConvergence()).complete).toBe(false);
  });

  it('replaces a fixed trustBundlePem in memory', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const store = await agentStore(r, 'managed');
    await store.delete(names.root);
    const agent = r.agent({ cluster: 'cluster-3', store, trustBundlePem: r.trustBundlePem });
    const seen = watch(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const rotation = new CaRotation({ ca: 'root', store: r.store, convergence: [r.server] });
    const prepared = await rotation.prepare({ crossSign: true });
    await until(async () => (await rotation.checkConvergence()).complete);
    expect(agent.trustBundleDigest).toBe(prepared.bundles.during);
    expect(seen.adopted.map((a) => [a.digest, a.stored])).toEqual([[prepared.bundles.during, false]]);
    expect(await store.get(names.root)).toBeUndefined();
  });
});
