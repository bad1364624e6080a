/**
 * RelayAgent against a real RelayServer over loopback TLS: bootstrap then renewal at the grace ratio, a refused
 * bootstrap that writes nothing, an agent offline past expiry that bootstraps again, a reconnect refused with an
 * expired certificate, and a bring-your-own secret that no rotator touches.
 *
 * Time: a `ManualClock` placed so that every certificate the test makes is also valid on the real clock, which
 * Node's TLS checks handshakes against.
 */
import { CertloopError, ManualClock, StaticLeaderElector } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { describe, expect, it } from 'vitest';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { until } from '../testing/index.js';
import { recordAgentEvents as record } from './events.test-support.js';
import type { RelayAgentEvent } from './relay-agent.js';

const MINUTE = 60_000;
const { startRelay } = relayPerTest();

const rotations = (events: RelayAgentEvent[], type: string) =>
  events.filter((e) => e.type === 'rotation' && e.event.type === type);

describe('RelayAgent', () => {
  it('bootstraps with the token, connects, then renews by CSR at the grace ratio over its one mutual-TLS connection, keeping its stream', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const relay = await startRelay({ clock });
    // no jitter: the second certificate is not due again before the first expires (TLS judges on the real clock,
    // which this test's clock runs ahead of at the end)
    const agent = relay.agent({ cluster: 'cluster-1', ratio: 0.5, jitter: 0, lifetimeSeconds: 3600 });
    const events = record(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const first = agent.status().certificate!;
    expect(agent.status()).toMatchObject({ mode: 'managed', leader: true });
    expect(rotations(events, 'succeeded')[0]).toMatchObject({ path: 'bootstrap' });
    expect(agent.status().connection.clientSerialNumber).toBe(first.serialNumber);

    // half the lifetime later (the jitter only moves it earlier), the leader renews through Certificates.Renew,
    // over the connection its stream rides
    await clock.advanceTo(first.notAfter.getTime() - 29 * MINUTE);
    await until(() => agent.status().certificate?.serialNumber !== first.serialNumber);
    const second = agent.status().certificate!;
    expect(rotations(events, 'succeeded')[1]).toMatchObject({ path: 'renew' });
    const stored = await relay.store.get('relay-client-tls-secret');
    expect(stored?.annotations['certloop.io/serial']).toBe(second.serialNumber);
    // the established connection stays valid: same stream, same connection, no disconnection
    expect(events.filter((e) => e.type === 'connection' && e.event.type === 'disconnected')).toEqual([]);
    expect(agent.status().connection).toMatchObject({ state: 'connected', clientSerialNumber: first.serialNumber });
    expect(relay.server.metrics()).toMatchObject({
      bootstraps: 1,
      renewals: 1,
      refused: {},
      connectedAgents: 1,
      // one mutual-TLS connection for the stream and the renewal; the renewed certificate's verdict was cached
      // when the server issued it
      clientCheck: { connections: 1, remembered: 2 },
    });
    expect(relay.server.connections()).toMatchObject([{ cluster: 'cluster-1', serialNumber: first.serialNumber }]);

    // shortly before the first certificate expires, the connection moves to the current one (make before break)
    await clock.advanceTo(first.notAfter.getTime() - 30_000);
    await until(() => agent.status().connection.clientSerialNumber === second.serialNumber);
    const server = relay.server;
    await until(() => server.metrics().connectedAgents === 1);
    expect(relay.server.connections()).toMatchObject([{ cluster: 'cluster-1', serialNumber: second.serialNumber }]);
    expect(relay.server.metrics()).toMatchObject({ refused: {}, clientCheck: { connections: 2 } });
  });

  it('reports a refused bootstrap (wrong token) with its code and writes nothing', async () => {
    const relay = await startRelay({ tokenVerifier: async () => false });
    const agent = relay.agent({ cluster: 'cluster-1', rotationBackoff: { initialMs: 60_000 } });
    const events = record(agent);
    await agent.start();
    await until(() => rotations(events, 'failed').length > 0);
    const failed = rotations(events, 'failed')[0]!;
    expect(failed.type === 'rotation' && failed.event.type === 'failed' && failed.event.error.code).toBe(
      'CERTLOOP_TOKEN_INVALID',
    );
    expect(await relay.store.get('relay-client-tls-secret')).toBeUndefined();
    expect(agent.status()).toMatchObject({ certificate: undefined, lastRotation: { result: 'failed' } });
    expect(relay.server.metrics()).toMatchObject({ issued: 0, refused: { CERTLOOP_TOKEN_INVALID: 1 } });
  });

  it('keeps an established stream past expiry, but refuses to reconnect with the expired certificate and says so', async () => {
    const start = Date.now() - 50 * MINUTE;
    const clock = new ManualClock(start);
    const relay = await startRelay({ clock });
    const seed = relay.agent({ cluster: 'cluster-1', lifetimeSeconds: 3600, connect: false });
    await seed.start();
    await until(() => seed.status().certificate !== undefined);
    await seed.stop();
    const first = (await relay.store.get('relay-client-tls-secret'))!;

    // a replica that is not the leader cannot renew: its certificate runs out while it is connected
    const bystander = new StaticLeaderElector({ identity: 'never-leader', clock });
    const stuck = relay.agent({ cluster: 'cluster-1', lifetimeSeconds: 3600, leader: bystander, manageLeader: false });
    const events = record(stuck);
    await stuck.start();
    await until(() => stuck.status().connection.state === 'connected');
    await clock.advanceTo(start + 62 * MINUTE);
    expect(stuck.status()).toMatchObject({ connection: { state: 'connected' }, certificate: { expired: true } });
    expect(events.some((e) => e.type === 'certificate-expired')).toBe(true);
    // a drop forces a reconnect, which must not present the expired certificate
    expect(relay.server.disconnect('cluster-1')).toBe(1);
    await until(() => stuck.status().connection.state === 'backoff');
    await clock.advance(MINUTE);
    await until(() =>
      events.some(
        (e) =>
          e.type === 'connection' &&
          e.event.type === 'connect-failed' &&
          e.event.error.code === 'CERTLOOP_CHAIN_EXPIRED',
      ),
    );
    expect(relay.server.metrics()).toMatchObject({ issued: 1, connectedAgents: 0 });
    expect((await relay.store.get('relay-client-tls-secret'))!.version).toBe(first.version);
  });

  it('restarted after being down past expiry, bootstraps again with the token and connects', async () => {
    const clock = new ManualClock(Date.now() - 3 * 3600_000);
    const relay = await startRelay({ clock });
    const before = relay.agent({ cluster: 'cluster-1', lifetimeSeconds: 3600, connect: false });
    await before.start();
    await until(() => before.status().certificate !== undefined);
    await before.stop();
    const expired = (await relay.store.get('relay-client-tls-secret'))!;

    clock.jumpTo(Date.now()); // the agent was down for three hours
    const back = relay.agent({ cluster: 'cluster-1', lifetimeSeconds: 3600 });
    const events = record(back);
    await back.start();
    await until(() => back.status().connection.state === 'connected');
    expect(rotations(events, 'succeeded')[0]).toMatchObject({ path: 'bootstrap' });
    expect(relay.server.metrics()).toMatchObject({ bootstraps: 2, renewals: 0, refused: {} });
    expect(back.status().certificate?.expired).toBe(false);
    expect((await relay.store.get('relay-client-tls-secret'))!.version).not.toBe(expired.version);
  });

  it('runs no rotator for a bring-your-own client secret, and connects with it', async () => {
    const relay = await startRelay();
    const byo = await relay.pki.signingCa.issue({
      commonName: 'cluster-1',
      dnsNames: ['cluster-1'],
      lifetimeSeconds: 3600,
      profile: 'client',
    });
    await relay.store.put('relay-client-tls-secret', {
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': new TextEncoder().encode(byo.certificatePem + byo.chainPem),
        'tls.key': new TextEncoder().encode(byo.privateKeyPem),
        'ca.crt': new TextEncoder().encode(byo.trustBundlePem),
      },
      annotations: { 'cert-manager.io/certificate-name': 'cluster-1' },
    });
    const before = (await relay.store.get('relay-client-tls-secret'))!.version;
    const agent = relay.agent({ cluster: 'cluster-1' });
    const events = record(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    expect(agent.status()).toMatchObject({
      mode: 'bring-your-own',
      connection: { clientSerialNumber: byo.serialNumber },
    });
    expect(events.filter((e) => e.type === 'rotation')).toEqual([]);
    expect((await relay.store.get('relay-client-tls-secret'))!.version).toBe(before);
  });

  it('checks its configuration', async () => {
    const pki = await createTestPki();
    const relay = await startRelay();
    expect(() => relay!.agent({ cluster: 'Not A Cluster' })).toThrow(CertloopError);
    expect(() => relay!.agent({ cluster: 'cluster-1', ratio: 1 })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    expect(pki.trustBundlePem).toContain('BEGIN CERTIFICATE');
  });
});
