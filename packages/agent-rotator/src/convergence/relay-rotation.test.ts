/**
 * The relay through a CA rotation, with real grpc-js agents and the real RelayServer over loopback mutual TLS:
 * agents report the digest of their trust bundle (Hello, BundleReport, heartbeats, Renew), the server's table
 * shows every cluster converge on {A, B} and then {B}, RenewNow moves every agent under the new CA, and nothing
 * fails on the way: no refused call, no failed renewal, no failed (re)connection. Every chain the server serves
 * in each phase passes `openssl verify` against the bundle published in that phase.
 *
 * The secrets' side of the rotation is done by hand here (`prepareHandRotation`), as core's `CaRotation` writes it,
 * so this tests the relay alone.
 */
import {
  type BundleObservation,
  InProcessLeaderElector,
  inspectCertificate,
  MemoryLeaseLock,
  readTlsMaterial,
  trustBundleDigest,
} from '@certloop/core';
import { describe, expect, it } from 'vitest';
import type { RelayAgent, RelayAgentEvent } from '../agent/relay-agent.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { type TestRelay, until } from '../testing/index.js';
import { prepareHandRotation } from './hand-rotation.test-support.js';
import { expectServedChainVerifies, verifyServedChain } from './served-chain.test-support.js';

const { startRelay } = relayPerTest();

interface Fleet {
  readonly agents: RelayAgent[];
  readonly failures: string[];
}

function watchFailures(agent: RelayAgent, name: string, failures: string[]): void {
  agent.subscribe((e: RelayAgentEvent) => {
    if (e.type === 'rotation' && e.event.type === 'failed') failures.push(`${name} renewal ${e.event.error.code}`);
    if (e.type === 'connection' && e.event.type === 'connect-failed')
      failures.push(`${name} connect ${e.event.error.code}`);
    if (e.type === 'connection' && e.event.type === 'disconnected' && e.event.error)
      failures.push(`${name} disconnected ${e.event.error.code}`);
    if (e.type === 'certificate-rejected') failures.push(`${name} certificate ${e.error.code}`);
  });
}

/** Three leader-elected replicas of cluster-1 and one agent of cluster-2 (a client secret of its own). */
async function startFleet(r: TestRelay): Promise<Fleet> {
  const failures: string[] = [];
  const lock = new MemoryLeaseLock();
  const agents: RelayAgent[] = [];
  for (let i = 1; i <= 3; i++) {
    const agent = r.agent({
      cluster: 'cluster-1',
      agentName: `replica-${i}`,
      leader: new InProcessLeaderElector({ lock, identity: `replica-${i}` }),
      heartbeatIntervalMs: 200,
    });
    watchFailures(agent, `replica-${i}`, failures);
    agents.push(agent);
  }
  const other = r.agent({
    cluster: 'cluster-2',
    agentName: 'cluster-2-agent',
    names: { client: 'relay-client-tls-secret-cluster-2' },
    heartbeatIntervalMs: 200,
  });
  watchFailures(other, 'cluster-2', failures);
  agents.push(other);
  await Promise.all(agents.map((a) => a.start()));
  await until(() => agents.every((a) => a.status().connection.state === 'connected'));
  return { agents, failures };
}

const agentsOn = (observations: readonly BundleObservation[], digest: string) =>
  observations.filter((o) => o.kind === 'agent' && o.bundleDigest === digest).map((o) => o.consumer);

async function converged(r: TestRelay, digest: string): Promise<void> {
  await until(async () => {
    const all = await r.server.observations();
    return (
      agentsOn(all, digest).join() === 'cluster-1,cluster-2' &&
      all.filter((o) => o.kind !== 'agent').every((o) => o.bundleDigest === digest)
    );
  });
}

async function issuerOfStoredClient(r: TestRelay, name: string): Promise<string | undefined> {
  const secret = await r.store.get(name);
  return inspectCertificate(readTlsMaterial(secret!).certificatePem!).authorityKeyId;
}

describe('the relay through a CA rotation', () => {
  for (const kind of ['root', 'intermediate'] as const) {
    it(`${kind} rotation: every cluster converges on {A, B}, renews under B on RenewNow, then holds {B}; 0 failures`, async () => {
      const relay = await startRelay({ convergence: { replicaId: 'server-a' }, heartbeatIntervalMs: 200 });
      const r = relay;
      const fleet = await startFleet(r);
      const a = trustBundleDigest(r.trustBundlePem);
      await converged(r, a);
      await expectServedChainVerifies(r, r.trustBundlePem);

      // prepare: {A, B} everywhere; A still signs
      const rotation = await prepareHandRotation(r.store, kind);
      const during = trustBundleDigest(rotation.duringBundlePem);
      await converged(r, during);
      expect(fleet.agents.every((x) => x.trustBundleDigest === during)).toBe(true);
      await expectServedChainVerifies(r, rotation.duringBundlePem);

      // activate: B signs; the server certificate is under B; agents still trust it (they hold {A, B})
      await rotation.activate();
      await until(() => r.server.health().signing && r.server.metrics().serverSerialNumber !== undefined);
      await expectServedChainVerifies(r, rotation.duringBundlePem);

      // drain: RenewNow reaches every stream whose certificate another key issued; the leaders renew under B
      const told = await r.server.requestRenewal({
        reason: `${kind} rotation: drain`,
        activeIssuerKeyId: rotation.activeIssuerKeyId,
      });
      expect(told.notified).toBeGreaterThanOrEqual(4); // 3 replicas of cluster-1, cluster-2 (plus any make-before-break)
      await until(async () => {
        const ids = await Promise.all([
          issuerOfStoredClient(r, 'relay-client-tls-secret'),
          issuerOfStoredClient(r, 'relay-client-tls-secret-cluster-2'),
        ]);
        return ids.every((id) => id === rotation.activeIssuerKeyId);
      });
      await until(
        () =>
          r.server.connections().every((c) => c.issuerKeyId === rotation.activeIssuerKeyId) &&
          r.server.connections().length === 4,
      );

      // retire: {B} everywhere
      await rotation.retire();
      const after = trustBundleDigest(rotation.afterBundlePem);
      await converged(r, after);
      await expectServedChainVerifies(r, rotation.afterBundlePem);
      if (kind === 'root') expect((await verifyServedChain(r.address, rotation.oldBundlePem)).code).not.toBe(0);

      expect(fleet.failures).toEqual([]);
      expect(r.server.metrics().refused).toEqual({});
      expect(r.server.metrics().renewals).toBeGreaterThanOrEqual(2);
    });
  }
});
