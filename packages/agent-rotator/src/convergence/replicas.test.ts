/**
 * Convergence across server replicas: each replica publishes its bundle table to the store (a secret of its own),
 * `StoreConvergenceSource` merges them for whoever drives the rotation, and a renewal request written to the store
 * (`StoreRenewalRequester`) reaches agents connected to any replica. Real grpc-js agents, real RelayServers on one
 * store, over loopback mutual TLS; plus the table's rules (mixed replicas, superseded Renew reports, forgetting).
 */
import { CertloopError, ManualClock, trustBundleDigest } from '@certloop/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayAgent, RelayAgentEvent } from '../agent/relay-agent.js';
import { RelayServer } from '../server/relay-server.js';
import { startTestRelay, type TestRelay, until } from '../testing/index.js';
import { type BundleEntry, BundleTable, clusterObservations } from './bundle-table.js';
import { prepareHandRotation } from './hand-rotation.test-support.js';
import { bundleTableSecretName, decodeSnapshot, StoreConvergenceSource } from './published-table.js';
import { RENEWAL_REQUEST_SECRET, StoreRenewalRequester } from './renewal.js';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);

let relay: TestRelay | undefined;
let second: RelayServer | undefined;
const agents: RelayAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await second?.stop({ graceMs: 100 });
  second = undefined;
  await relay?.stop();
  relay = undefined;
});

describe('the bundle table', () => {
  it('one observation per cluster: the digest all its replicas hold, or a mixed value while they disagree', () => {
    const clock = new ManualClock(Date.parse('2026-12-01T00:00:00Z'));
    const table = new BundleTable({ clock, forgetAfterMs: 60_000 });
    table.report({ cluster: 'c1', reporter: 'r1', via: 'stream', digest: D1 }, 'opened');
    table.report({ cluster: 'c1', reporter: 'r2', via: 'stream', digest: D1 }, 'opened');
    expect(table.observations()).toMatchObject([{ consumer: 'c1', kind: 'agent', bundleDigest: D1 }]);
    table.report({ cluster: 'c1', reporter: 'r1', via: 'stream', digest: D2 });
    const [mixed] = table.observations();
    expect(mixed?.bundleDigest.startsWith('mixed:')).toBe(true);
    expect(mixed?.detail).toContain('disagree');
    table.report({ cluster: 'c1', reporter: 'r2', via: 'stream', digest: D2 });
    expect(table.observations()[0]?.bundleDigest).toBe(D2);
  });

  it('an offline replica is remembered (a straggler) until a newer one of its cluster outlives forgetAfterMs', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T00:00:00Z'));
    const table = new BundleTable({ clock, forgetAfterMs: 60_000 });
    table.report({ cluster: 'c1', reporter: 'old', via: 'stream', digest: D1 }, 'opened');
    table.report({ cluster: 'c1', reporter: 'old', via: 'stream', digest: '' }, 'closed');
    await clock.advance(30_000);
    table.report({ cluster: 'c1', reporter: 'new', via: 'stream', digest: D2 }, 'opened');
    expect(table.observations()[0]?.bundleDigest.startsWith('mixed:')).toBe(true);
    await clock.advance(31_000);
    table.report({ cluster: 'c1', reporter: 'new', via: 'stream', digest: D2 });
    expect(table.observations()[0]?.bundleDigest).toBe(D2);
    // a cluster whose every replica is offline stays as last seen, however long ago
    table.report({ cluster: 'c2', reporter: 'r', via: 'stream', digest: D1 }, 'opened');
    table.report({ cluster: 'c2', reporter: 'r', via: 'stream', digest: '' }, 'closed');
    await clock.advance(10 * 60_000);
    expect(table.observations().find((o) => o.consumer === 'c2')?.bundleDigest).toBe(D1);
    expect(table.forget('c2')).toBe(1);
    expect(table.observations().map((o) => o.consumer)).toEqual(['c1']);
  });

  it('a Renew report counts until a stream of the same cluster reports later', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T00:00:00Z'));
    const entries: BundleEntry[] = [
      {
        cluster: 'c1',
        reporter: 'renew',
        via: 'renew',
        digest: D1,
        since: new Date(1000),
        lastSeen: new Date(1000),
        streams: 0,
      },
    ];
    expect(clusterObservations(entries)[0]?.bundleDigest).toBe(D1);
    entries.push({
      cluster: 'c1',
      reporter: 'r1',
      via: 'stream' as const,
      digest: D2,
      since: new Date(2000),
      lastSeen: new Date(2000),
      streams: 1,
    });
    expect(clusterObservations(entries)[0]?.bundleDigest).toBe(D2);
    void clock;
  });

  it('refuses an unreadable published table with a typed error', () => {
    let error: unknown;
    try {
      decodeSnapshot(new TextEncoder().encode('not gzip'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CertloopError);
    expect((error as CertloopError).code).toBe('CERTLOOP_INVALID_ARGUMENT');
    expect(bundleTableSecretName('Server_A:1')).toBe('relay-bundle-observations-server-a-1');
  });
});

describe('convergence across server replicas', () => {
  it('merges every replica’s published table and passes a stored renewal request on to agents of any replica', async () => {
    relay = await startTestRelay({ convergence: { replicaId: 'server-a', publish: { debounceMs: 10 } } });
    const r = relay;
    second = new RelayServer({
      store: r.store,
      address: '127.0.0.1:0',
      monitorExpiry: false,
      convergence: { replicaId: 'server-b', publish: { debounceMs: 10 } },
    });
    const addressB = await second.start();
    const onA = r.agent({ cluster: 'cluster-1', agentName: 'replica-1' });
    const onB = r.agent({
      cluster: 'cluster-2',
      agentName: 'replica-1',
      serverAddress: addressB,
      names: { client: 'relay-client-tls-secret-cluster-2' },
    });
    agents.push(onA, onB);
    const eventsB: RelayAgentEvent[] = [];
    onB.subscribe((e) => eventsB.push(e));
    await Promise.all([onA.start(), onB.start()]);
    await until(() => onA.status().connection.state === 'connected' && onB.status().connection.state === 'connected');

    // a rotation driven from outside every replica (certloop ca ...) reads the store only
    const source = new StoreConvergenceSource({ store: r.store });
    const rotation = await prepareHandRotation(r.store, 'root');
    const during = trustBundleDigest(rotation.duringBundlePem);
    await until(async () => {
      const all = await source.observations();
      return (
        all.filter((o) => o.kind === 'agent' && o.bundleDigest === during).length === 2 &&
        all.filter((o) => o.kind !== 'agent' && o.bundleDigest === during).length === 4
      );
    });
    const consumers = (await source.observations()).map((o) => `${o.kind}:${o.consumer}`).sort();
    expect(consumers).toEqual([
      'agent:cluster-1',
      'agent:cluster-2',
      'provider:relay-server-tls-secret@server-a',
      'provider:relay-server-tls-secret@server-b',
      'replica:server-a',
      'replica:server-b',
    ]);

    await rotation.activate();
    const requester = new StoreRenewalRequester({ store: r.store, entries: () => source.entries() });
    const { notified } = await requester.requestRenewal({
      reason: 'root rotation: drain',
      activeIssuerKeyId: rotation.activeIssuerKeyId,
    });
    expect(notified).toBe(2);
    expect(await r.store.get(RENEWAL_REQUEST_SECRET)).toBeDefined();
    await until(() => eventsB.some((e) => e.type === 'rotation' && e.event.type === 'succeeded' && e.path === 'renew'));
    expect(eventsB.some((e) => e.type === 'connection' && e.event.type === 'renew-now')).toBe(true);
    await until(() => second!.connections().every((c) => c.issuerKeyId === rotation.activeIssuerKeyId));
    // idempotent: the same request is not written twice
    const version = (await r.store.get(RENEWAL_REQUEST_SECRET))!.version;
    await requester.requestRenewal({ reason: 'root rotation: drain', activeIssuerKeyId: rotation.activeIssuerKeyId });
    expect((await r.store.get(RENEWAL_REQUEST_SECRET))!.version).toBe(version);
  });
});
