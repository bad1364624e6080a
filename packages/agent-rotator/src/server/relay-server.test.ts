/**
 * RelayServer's own lifecycle: the server certificate replaced in the store while three agents hold open streams
 * (streams stay up, the next handshake shows the new serial), a replaced signing intermediate used from the next
 * CSR on, health and metrics, and start-up refusals.
 */
import { connect } from 'node:tls';
import {
  authorityFromSecret,
  issuedTlsSecret,
  MemorySecretStore,
  readTlsMaterial,
  splitPemBundle,
} from '@certloop/core';
import { describe, expect, it } from 'vitest';
import type { RelayAgent } from '../agent/relay-agent.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { type TestRelay, until } from '../testing/index.js';
import { RelayServer } from './relay-server.js';

const { startRelay } = relayPerTest();

/** A fresh TLS handshake with the server: the serial of the certificate it presents. */
function handshakeSerial(address: string, trustBundlePem: string): Promise<string> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca: trustBundlePem, servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, '');
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

async function replaceServerSecret(r: TestRelay): Promise<string> {
  const current = (await r.store.get('relay-server-tls-secret'))!;
  const issued = await r.pki.signingCa.issue({
    commonName: 'relay-server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    lifetimeSeconds: 7 * 86_400,
    profile: 'server',
  });
  await r.store.put(
    'relay-server-tls-secret',
    issuedTlsSecret({ role: 'server', privateKeyPem: issued.privateKeyPem, result: issued }),
    {
      expectedVersion: current.version,
    },
  );
  return issued.serialNumber;
}

describe('RelayServer', () => {
  it('takes a replaced server secret on new handshakes while three agents keep their streams', async () => {
    const relay = await startRelay({ heartbeatIntervalMs: 20 });
    const oldSerial = relay.server.metrics().serverSerialNumber!;
    expect(await handshakeSerial(relay.address, relay.trustBundlePem)).toBe(oldSerial.replace(/^0+/, ''));
    const agents: RelayAgent[] = [];
    for (const n of [1, 2, 3]) {
      agents.push(
        relay.agent({
          cluster: `cluster-${n}`,
          names: { client: `relay-client-tls-secret-${n}` },
          heartbeatIntervalMs: 20,
        }),
      );
    }
    const drops: string[] = [];
    for (const a of agents) {
      a.subscribe((e) => {
        if (e.type === 'connection' && e.event.type === 'disconnected') drops.push(a.cluster);
      });
    }
    await Promise.all(agents.map((a) => a.start()));
    await until(() => relay!.server.metrics().connectedAgents === 3);
    const streams = relay.server
      .connections()
      .map((c) => c.id)
      .sort();

    const reloaded = new Promise<string>((resolve) =>
      relay!.server.subscribe((e) => {
        if (e.type === 'server-certificate' && e.previous) resolve(e.serialNumber);
      }),
    );
    const newSerial = await replaceServerSecret(relay);
    expect(await reloaded).toBe(newSerial);
    expect(await handshakeSerial(relay.address, relay.trustBundlePem)).toBe(newSerial.replace(/^0+/, ''));

    // the three streams are the same ones, and still carry heartbeats
    const beats = new Map(relay.server.connections().map((c) => [c.id, c.heartbeats]));
    await until(() => relay!.server.connections().every((c) => c.heartbeats > beats.get(c.id)! + 2));
    expect(
      relay.server
        .connections()
        .map((c) => c.id)
        .sort(),
    ).toEqual(streams);
    expect(drops).toEqual([]);
    expect(agents.map((a) => a.status().connection.serverSerialNumber)).toEqual([oldSerial, oldSerial, oldSerial]);

    // a new agent's handshake and Welcome show the new certificate
    const late = relay.agent({ cluster: 'cluster-4', names: { client: 'relay-client-tls-secret-4' } });
    await late.start();
    await until(() => late.status().connection.state === 'connected');
    expect(late.status().connection.serverSerialNumber).toBe(newSerial);
    expect(relay.server.metrics()).toMatchObject({ connectedAgents: 4, issued: 4, bootstraps: 4 });
  });

  it('signs with a replaced intermediate from the next CSR on', async () => {
    const relay = await startRelay();
    const agent = relay.agent({ cluster: 'cluster-1', connect: false });
    await agent.start();
    await until(() => agent.status().certificate !== undefined);
    const firstIssuer = readTlsMaterial((await relay.store.get('relay-client-tls-secret'))!).certificatePem!;

    // a new intermediate under the same root
    const root = (await relay.store.get('relay-root-tls-secret'))!;
    const rootCa = authorityFromSecret(root);
    // two years: a 365-day client certificate issued a second later must still end before it (it flaked under
    // load with a 365-day intermediate: CERTLOOP_CA_EXPIRES_TOO_SOON)
    const inter = await rootCa.issue({
      commonName: 'certloop relay signing CA 2',
      lifetimeSeconds: 2 * 365 * 86_400,
      profile: 'intermediate',
      pathLength: 0,
    });
    const signing = (await relay.store.get('relay-tls-signing-secret'))!;
    const switched = new Promise<void>((resolve) =>
      relay!.server.subscribe((e) => {
        if (e.type === 'signing-authority') resolve();
      }),
    );
    await relay.store.put(
      'relay-tls-signing-secret',
      issuedTlsSecret({ role: 'intermediate', privateKeyPem: inter.privateKeyPem, result: inter }),
      { expectedVersion: signing.version },
    );
    await switched;
    await relay.store.delete('relay-client-tls-secret');
    await until(async () => (await relay!.store.get('relay-client-tls-secret')) !== undefined);
    const next = readTlsMaterial((await relay.store.get('relay-client-tls-secret'))!).certificatePem!;
    const [, firstChain] = splitPemBundle(firstIssuer);
    const [, nextChain] = splitPemBundle(next);
    expect(nextChain).toBe(splitPemBundle(inter.certificatePem)[0]);
    expect(nextChain).not.toBe(firstChain);
  });

  it('reports health, metrics and the expiry of its own secrets', async () => {
    const relay = await startRelay({ monitorExpiry: true });
    expect(relay.server.health()).toEqual({ ready: true, serving: true, signing: true });
    const names = relay.server
      .metrics()
      .secrets.map((s) => `${s.name}:${s.state}`)
      .sort();
    expect(names).toEqual(['relay-root-tls-secret:ok', 'relay-server-tls-secret:ok', 'relay-tls-signing-secret:ok']);
    await relay.server.stop();
    expect(relay.server.health().serving).toBe(false);
  });

  it('refuses to start without a valid server certificate, and with a bad address', async () => {
    expect(() => new RelayServer({ store: new MemorySecretStore(), address: 'nowhere' })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    const server = new RelayServer({ store: new MemorySecretStore(), address: '127.0.0.1:0' });
    await expect(server.start()).rejects.toMatchObject({ code: 'CERTLOOP_NOT_FOUND' });
  });
});
