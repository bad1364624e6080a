/**
 * core's `CaRotation` driving the relay end to end: the RelayServer is the rotation's `ConvergenceSource` and
 * `RenewalRequester`, and records its issuances in a `StoreIssuanceLedger`; real grpc-js agents over loopback mutual
 * TLS. The root and the intermediate are rotated through prepare, converge, activate, drain and retire with no
 * failed handshake, renewal or call, and every chain the server serves passes `openssl verify` against the bundle
 * of its phase. A cluster that has not reported {A, B} holds activate back (`not-converged`) until it returns.
 */
import {
  CaRotation,
  CertloopError,
  InProcessLeaderElector,
  MemoryLeaseLock,
  MemorySecretStore,
  readTlsMaterial,
  StoreIssuanceLedger,
  trustBundleDigest,
} from '@certloop/core';
import { describe, expect, it } from 'vitest';
import type { RelayAgent, RelayAgentEvent } from '../agent/relay-agent.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { type TestRelay, until } from '../testing/index.js';
import { expectServedChainVerifies } from './served-chain.test-support.js';

const { startRelay } = relayPerTest();

async function refusalOf(pending: Promise<unknown>): Promise<unknown> {
  try {
    await pending;
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    expect((err as CertloopError).code).toBe('CERTLOOP_CA_ROTATION_REFUSED');
    return (err as CertloopError).details?.refusal;
  }
  return undefined;
}

async function published(r: TestRelay): Promise<string> {
  const root = await r.store.get('relay-root-tls-secret');
  return readTlsMaterial(root!).trustBundlePem!;
}

describe('CaRotation over the relay', () => {
  for (const ca of ['root', 'intermediate'] as const) {
    it(`rotates the ${ca} with agents connected: 0 failed handshakes, renewals or calls`, async () => {
      const store = new MemorySecretStore();
      const realLedger = new StoreIssuanceLedger({ store });
      const relay = await startRelay({
        store,
        convergence: { replicaId: 'server-a' },
        heartbeatIntervalMs: 200,
        ledger: realLedger,
      });
      const relayed = relay;
      const failures: string[] = [];
      const lock = new MemoryLeaseLock();
      const agents: RelayAgent[] = [];
      const add = (agent: RelayAgent, name: string) => {
        agent.subscribe((e: RelayAgentEvent) => {
          if (e.type === 'rotation' && e.event.type === 'failed')
            failures.push(`${name} renewal ${e.event.error.code}`);
          if (
            e.type === 'connection' &&
            (e.event.type === 'connect-failed' || (e.event.type === 'disconnected' && e.event.error))
          )
            failures.push(`${name} ${e.event.type}`);
        });
        agents.push(agent);
      };
      for (let i = 1; i <= 3; i++) {
        add(
          relayed.agent({
            cluster: 'cluster-1',
            agentName: `replica-${i}`,
            leader: new InProcessLeaderElector({ lock, identity: `replica-${i}` }),
            heartbeatIntervalMs: 200,
          }),
          `replica-${i}`,
        );
      }
      add(
        relayed.agent({
          cluster: 'cluster-2',
          names: { client: 'relay-client-tls-secret-cluster-2' },
          heartbeatIntervalMs: 200,
        }),
        'cluster-2',
      );
      await Promise.all(agents.map((a) => a.start()));
      await until(() => agents.every((a) => a.status().connection.state === 'connected'));

      const rotation = new CaRotation({
        ca,
        store: relayed.store,
        convergence: [relayed.server],
        renewalRequesters: [relayed.server],
        ledger: realLedger,
      });
      await expectServedChainVerifies(relayed, await published(relayed));
      const prepared = await rotation.prepare({ crossSign: true, reason: 'test' });
      const bundleAB = await published(relayed);
      expect(trustBundleDigest(bundleAB)).toBe(prepared.bundles.during);
      await until(async () => (await rotation.checkConvergence()).complete);
      await expectServedChainVerifies(relayed, bundleAB);

      await rotation.activate();
      await until(() => relayed.server.metrics().serverSerialNumber !== undefined);
      await expectServedChainVerifies(relayed, bundleAB);
      const first = await rotation.drain();
      expect(first.notified).toBeGreaterThanOrEqual(4);
      await until(async () => (await rotation.drain()).liveUnderOld === 0);
      await until(() => relayed.server.connections().every((c) => c.issuerKeyId === first.activeIssuerKeyId));

      const retired = await rotation.retire();
      expect(retired.phase).toBe('retired');
      const bundleB = await published(relayed);
      await expectServedChainVerifies(relayed, bundleB);
      await until(async () =>
        (await relayed.server.observations()).every((o) => o.bundleDigest === trustBundleDigest(bundleB)),
      );
      expect(failures).toEqual([]);
      expect(relayed.server.metrics().refused).toEqual({});
    });
  }

  it('holds activate back while a cluster has not reported {A, B}, and goes on once it returns', async () => {
    const relay = await startRelay({ convergence: { replicaId: 'server-a' } });
    const r = relay;
    const straggler = r.agent({ cluster: 'cluster-7' });
    await straggler.start();
    await until(() => straggler.status().connection.state === 'connected');
    await straggler.stop();
    const rotation = new CaRotation({
      ca: 'root',
      store: r.store,
      convergence: [r.server],
      renewalRequesters: [r.server],
    });
    await rotation.prepare({ crossSign: true });
    const figures = await rotation.checkConvergence();
    expect(figures.complete).toBe(false);
    expect(figures.waiting.filter((w) => w.kind === 'agent').map((w) => w.consumer)).toEqual(['cluster-7']);
    expect(figures.summary).toContain('cluster-7');
    expect(await refusalOf(rotation.activate())).toBe('not-converged');

    const back = r.agent({ cluster: 'cluster-7' });
    await back.start();
    await until(async () => (await rotation.checkConvergence()).complete);
    expect((await rotation.activate()).phase).toBe('drain');
    await back.stop();
  });
});
