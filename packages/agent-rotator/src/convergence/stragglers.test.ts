/**
 * Stragglers of a root rotation, with real grpc-js agents and the real RelayServer over loopback mutual TLS:
 * - an agent offline through prepare and activate keeps the rotation waiting (its table entry shows the old
 *   bundle and when it was last seen), is still served when it returns (its certificate under A is accepted),
 *   reports {A, B} at once and renews under B (the renewal request in force reaches it when it connects);
 * - an agent offline past retire finds its certificate refused (its CA is no longer trusted) and recovers through
 *   the token bootstrap, with a certificate under B.
 */
import { inspectCertificate, readTlsMaterial, trustBundleDigest } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { recordAgentEvents as record } from '../agent/events.test-support.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { type TestRelay, until } from '../testing/index.js';
import { prepareHandRotation } from './hand-rotation.test-support.js';

const { startRelay } = relayPerTest();

const CLIENT = 'relay-client-tls-secret';

async function issuerOf(r: TestRelay): Promise<string | undefined> {
  const secret = await r.store.get(CLIENT);
  return inspectCertificate(readTlsMaterial(secret!).certificatePem!).authorityKeyId;
}

async function observationOf(r: TestRelay, cluster: string) {
  return (await r.server.observations()).find((o) => o.kind === 'agent' && o.consumer === cluster);
}

describe('stragglers of a root rotation', () => {
  it('an agent offline through prepare and activate is still served when it returns, converges and renews under B', async () => {
    const relay = await startRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const first = r.agent({ cluster: 'cluster-7', agentName: 'replica-1' });
    await first.start();
    await until(() => first.status().connection.state === 'connected');
    const before = trustBundleDigest(r.trustBundlePem);
    await until(async () => (await observationOf(r, 'cluster-7'))?.bundleDigest === before);
    const oldIssuer = await issuerOf(r);
    await first.stop();
    await until(async () => r.server.bundleTable().every((e) => e.streams === 0));

    const rotation = await prepareHandRotation(r.store, 'root');
    await rotation.activate();
    await r.server.requestRenewal({ reason: 'root rotation: drain', activeIssuerKeyId: rotation.activeIssuerKeyId });
    // the rotation waits for it: the table still shows the bundle it held when last seen
    const waiting = await observationOf(r, 'cluster-7');
    expect(waiting?.bundleDigest).toBe(before);
    expect(waiting?.detail).toContain('0 online');

    const back = r.agent({ cluster: 'cluster-7', agentName: 'replica-1' });
    const events = record(back);
    await back.start();
    await until(() => back.status().connection.state === 'connected');
    // served with its certificate under A, and it holds {A, B} now
    expect(back.status().connection.clientSerialNumber).toBeDefined();
    const during = trustBundleDigest(rotation.duringBundlePem);
    await until(async () => (await observationOf(r, 'cluster-7'))?.bundleDigest === during);
    // told to renew as it connected: its next certificate is under B
    await until(async () => (await issuerOf(r)) === rotation.activeIssuerKeyId);
    expect(oldIssuer).not.toBe(rotation.activeIssuerKeyId);
    const renewNow = events.filter((e) => e.type === 'connection' && e.event.type === 'renew-now');
    expect(renewNow.length).toBeGreaterThanOrEqual(1);
    const succeeded = events.filter((e) => e.type === 'rotation' && e.event.type === 'succeeded');
    expect(succeeded[0]).toMatchObject({ path: 'renew' });
    expect(events.filter((e) => e.type === 'rotation' && e.event.type === 'failed')).toEqual([]);
    expect(r.server.metrics().refused).toEqual({});
  });

  it('an agent offline past retire recovers through the token bootstrap with a certificate under B', async () => {
    const relay = await startRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const first = r.agent({ cluster: 'cluster-8' });
    await first.start();
    await until(() => first.status().connection.state === 'connected');
    await first.stop();

    const rotation = await prepareHandRotation(r.store, 'root');
    await rotation.activate();
    await rotation.retire();
    await until(() => r.server.health().signing);

    const back = r.agent({ cluster: 'cluster-8' });
    const events = record(back);
    await back.start();
    await until(async () => (await issuerOf(r)) === rotation.activeIssuerKeyId);
    await until(() => back.status().connection.state === 'connected');
    const succeeded = events.filter((e) => e.type === 'rotation' && e.event.type === 'succeeded');
    expect(succeeded[0]).toMatchObject({ path: 'bootstrap' });
    // its old certificate was refused as untrusted (its CA was retired), nothing else
    expect(Object.keys(r.server.metrics().refused)).toEqual(['CERTLOOP_CHAIN_UNTRUSTED']);
    const after = trustBundleDigest(rotation.afterBundlePem);
    await until(async () => (await observationOf(r, 'cluster-8'))?.bundleDigest === after);
  });
});
