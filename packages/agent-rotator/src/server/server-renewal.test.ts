/**
 * Opt-in server certificate renewal: at the grace ratio the RelayServer renews `relay-server-tls-secret` with the CA
 * that signs agents (core's Rotator), the hot reload takes it, a connected agent keeps its stream and a new
 * handshake gets the new certificate. Time on a ManualClock placed so the certificates are valid on the real clock
 * too (Node's TLS checks handshakes against it).
 */
import { bootstrapRelayPki, inspectCertificate, ManualClock, MemorySecretStore, readTlsMaterial } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { until } from '../testing/index.js';
import type { RelayServerEvent } from './relay-server.js';

const MINUTE = 60_000;
const { startRelay } = relayPerTest();

describe('server certificate renewal (opt-in)', () => {
  it('renews the server certificate at the ratio under the signing CA; the hot reload takes it, streams stay', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const store = new MemorySecretStore();
    await bootstrapRelayPki({
      store,
      clock,
      serverLifetimeSeconds: 3600,
      token: 'certloop-test-bootstrap-token-0123456789',
    });
    const relay = await startRelay({ store, clock, serverCertificateRenewal: { ratio: 0.5 } });
    const r = relay;
    const events: RelayServerEvent[] = [];
    r.server.subscribe((e) => events.push(e));
    const before = inspectCertificate(readTlsMaterial((await store.get('relay-server-tls-secret'))!).certificatePem!);
    const agent = r.agent({ cluster: 'cluster-1', lifetimeSeconds: 3600 });
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    expect(agent.status().connection.serverSerialNumber).toBe(before.serialNumber);

    await clock.advanceTo(before.notAfter.getTime() - 29 * MINUTE);
    await until(() => r.server.metrics().serverSerialNumber !== before.serialNumber);
    const after = inspectCertificate(readTlsMaterial((await store.get('relay-server-tls-secret'))!).certificatePem!);
    expect(after.serialNumber).toBe(r.server.metrics().serverSerialNumber);
    expect(after.subject.commonName).toBe(before.subject.commonName);
    expect(after.sans).toEqual(before.sans);
    expect(after.authorityKeyId).toBe(before.authorityKeyId);
    expect(after.notAfter.getTime()).toBeGreaterThan(before.notAfter.getTime());
    expect(events.some((e) => e.type === 'server-renewal' && e.event.type === 'succeeded')).toBe(true);
    expect(events.some((e) => e.type === 'server-certificate' && e.previous === before.serialNumber)).toBe(true);
    // the open stream stays; the agent never failed
    expect(agent.status().connection.state).toBe('connected');
    expect(r.server.metrics().refused).toEqual({});
  });
});
