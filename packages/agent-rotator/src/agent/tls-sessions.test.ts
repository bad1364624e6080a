/**
 * TLS session resumption of the agent's mutual-TLS channel, with real TLS on loopback, a real RelayServer and real
 * grpc-js clients: a reconnect (grpc-js's own, after the connection is cut; or a new connection of the channel; or
 * a RelayAgent's stream) resumes the session; a renewal, a new trust bundle, a halt do not resume. A server
 * certificate from a new CA, on plain Node http2 servers: with Node's default (new ticket keys on
 * `setSecureContext`) the next connection is a full handshake; on a server that keeps its ticket keys, one
 * resumed connection, until the server's Welcome serial says otherwise. And the cache alone: bounded, aged on the
 * injected clock, one key at a time.
 */
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { CredentialProvider, isRevokingAuthority, ManualClock, MemorySecretStore } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { until } from '../testing/index.js';
import { unary } from './channel.js';
import { MutualChannel } from './mutual-channel.js';
import {
  type AgentUnderTest,
  bootstrappedAgent,
  type CuttableProxy,
  channelOf,
  cutAndWait,
  cuttableProxy,
  renewOver,
} from './resumption.test-support.js';
import { sessionKey, TlsSessionCache } from './tls-sessions.js';

const { startRelay } = relayPerTest();
const opened: {
  proxies: CuttableProxy[];
  channels: MutualChannel[];
  agents: AgentUnderTest[];
  cleanups: (() => unknown)[];
} = { proxies: [], channels: [], agents: [], cleanups: [] };
afterEach(async () => {
  for (const c of opened.channels.splice(0)) c.close();
  for (const a of opened.agents.splice(0)) a.provider.close();
  for (const p of opened.proxies.splice(0)) await p.close();
  for (const cleanup of opened.cleanups.splice(0)) await cleanup();
});

/** A relay, a proxy to it, one bootstrapped agent and its channel through the proxy. */
async function setUp(trust?: (relayTrust: string) => string) {
  const relay = await startRelay();
  const proxy = await cuttableProxy(relay.address);
  opened.proxies.push(proxy);
  const agent = await bootstrappedAgent(relay, 'cluster-1');
  opened.agents.push(agent);
  let trustBundlePem = trust ? trust(relay.trustBundlePem) : relay.trustBundlePem;
  const channel = channelOf(agent, proxy.address, () => trustBundlePem);
  opened.channels.push(channel);
  return {
    relay,
    proxy,
    agent,
    channel,
    setTrust(pem: string) {
      trustBundlePem = pem;
    },
  };
}

describe('agent TLS session resumption', () => {
  it('resumes on reconnect (grpc-js after a cut, and a new connection of the channel); every call still checked', async () => {
    const { relay, proxy, agent, channel } = await setUp();
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 0 });
    expect(channel.tlsSessions.stored).toBeGreaterThan(0);

    await cutAndWait(proxy, channel);
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 1 });

    channel.refresh();
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 2 });
    // the server checked the client certificate on each of the three connections
    expect(relay.server.metrics().clientCheck.connections).toBe(3);
    // the server chain of the full handshake stays the one reported
    expect(channel.serverChain?.leafPem).toContain('BEGIN CERTIFICATE');

    // a channel that does not resume never does
    const plain = channelOf(agent, proxy.address, () => relay.trustBundlePem, { resumeTlsSessions: false });
    opened.channels.push(plain);
    await renewOver(relay, plain, agent);
    await cutAndWait(proxy, plain);
    await renewOver(relay, plain, agent);
    expect(plain.tlsSessions).toEqual({ full: 2, resumed: 0, stored: 0 });
  });

  it('does not resume after a renewal: the server sees the new certificate (the old one, revoked, would be refused)', async () => {
    const { relay, proxy, agent, channel } = await setUp();
    await renewOver(relay, channel, agent);
    const old = agent.serialNumber;
    await renewOver(relay, channel, agent, true);
    expect(agent.serialNumber).not.toBe(old);
    // revoke the certificate the first handshake was made with: resuming that session would present it
    const ca = relay.pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the bootstrapped signing CA revokes');
    const crl = await ca.revoke({ serialNumber: old });
    await until(() => relay.server.metrics().crlNumber === crl.crlNumber);

    await cutAndWait(proxy, channel);
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 2, resumed: 0 });
    // and the new certificate's sessions resume
    await cutAndWait(proxy, channel);
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 2, resumed: 1 });
  });

  it('does not resume after a trust bundle change, or once forgotten (a halt)', async () => {
    const other = await createTestPki();
    const { relay, proxy, agent, channel, setTrust } = await setUp((t) => t + other.rootPem);
    await renewOver(relay, channel, agent);

    // the trust bundle changes (the other root leaves it): a new connection, not resumed
    setTrust(relay.trustBundlePem);
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 2, resumed: 0 });
    setTrust(relay.trustBundlePem + other.rootPem);
    await renewOver(relay, channel, agent);
    await cutAndWait(proxy, channel);
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 3, resumed: 1 });

    // forgotten (what a halt does): a full handshake
    await cutAndWait(proxy, channel);
    channel.forgetSessions();
    await renewOver(relay, channel, agent);
    expect(channel.tlsSessions).toMatchObject({ full: 4, resumed: 1 });
  });
});

describe('RelayAgent TLS session resumption', () => {
  it('a RelayAgent whose connection is cut reconnects its stream on a resumed session, counted in its status', async () => {
    const relay = await startRelay();
    const proxy = await cuttableProxy(relay.address);
    opened.proxies.push(proxy);
    const agent = relay.agent({
      cluster: 'cluster-1',
      serverAddress: proxy.address,
      reconnectBackoff: { initialMs: 1, maxMs: 10 },
    });
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    expect(agent.status().connection.tlsSessions).toEqual({ full: 1, resumed: 0 });
    const checked = relay.server.metrics().clientCheck.connections;

    proxy.cut();
    await until(() => agent.status().connection.tlsSessions.resumed === 1);
    await until(() => agent.status().connection.state === 'connected');
    expect(agent.status().connection.tlsSessions).toEqual({ full: 1, resumed: 1 });
    // the resumed connection's certificate was checked like any other
    expect(relay.server.metrics().clientCheck.connections).toBe(checked + 1);
    expect(relay.server.connections()).toMatchObject([
      { cluster: 'cluster-1', serialNumber: agent.status().certificate!.serialNumber },
    ]);
    // the Welcome named the certificate the session showed: the sessions stay, the next reconnect resumes too
    proxy.cut();
    await until(() => agent.status().connection.tlsSessions.resumed === 2);
    expect(agent.status().connection.tlsSessions.full).toBe(1);
  });
});

describe('a server certificate from a new CA, on plain Node http2 servers', () => {
  /**
   * A plain Node http2 secure server asking for a client certificate (no gRPC behind it: each call fails, after the
   * handshake), serving a certificate of `first`; an agent channel trusting `first` and `second`.
   */
  async function setUpPlain() {
    const first = await createTestPki();
    const second = await createTestPki();
    const name = { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
    const [servedA, servedB] = [await first.issue(name), await second.issue(name)];
    const server = createSecureServer({
      key: servedA.privateKeyPem,
      cert: servedA.certificatePem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on('stream', (stream) => stream.respond({ ':status': 404 }, { endStream: true }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = new MemorySecretStore();
    const client = await first.issue({ commonName: 'cluster-1', profile: 'client' });
    await store.put('client', client.secret);
    const provider = new CredentialProvider({ name: 'client', watcher: store, usage: 'clientAuth' });
    await provider.start();
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const trust = first.trustBundlePem + second.trustBundlePem;
    const channel = new MutualChannel({
      serverAddress: address,
      serverName: 'localhost',
      provider,
      trustBundlePem: () => trust,
    });
    opened.channels.push(channel);
    opened.cleanups.push(
      () => provider.close(),
      () => new Promise((resolve) => server.close(resolve)),
    );
    /** One call on a new connection of the channel. */
    const reconnect = async () => {
      channel.refresh();
      const lease = channel.acquire();
      await unary(lease.certificates, 'Renew', { csrPem: '', lifetimeSeconds: 0 }).catch(() => undefined);
      lease.release();
    };
    await reconnect();
    expect(channel.serverChain?.leafPem).toBe(servedA.leafPem);
    return { server, channel, reconnect, servedA, servedB };
  }

  it("Node's default (setSecureContext: new ticket keys): the next connection is a full handshake and shows it", async () => {
    const { server, channel, reconnect, servedB } = await setUpPlain();
    await reconnect();
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 1 });
    server.setSecureContext({ key: servedB.privateKeyPem, cert: servedB.certificatePem });
    await reconnect();
    expect(channel.tlsSessions).toMatchObject({ full: 2, resumed: 1 });
    expect(channel.serverChain?.leafPem).toBe(servedB.leafPem);
  });

  it("a server that keeps its ticket keys: one resumed connection, then the server's serial forgets the sessions", async () => {
    const { server, channel, reconnect, servedA, servedB } = await setUpPlain();
    // what the lean relay server does on a reload: a new secure context, the same ticket keys
    const keys = server.getTicketKeys();
    server.setSecureContext({ key: servedB.privateKeyPem, cert: servedB.certificatePem });
    server.setTicketKeys(keys);
    await reconnect();
    // nothing in a resumed handshake can show the new certificate: the session's chain is the one seen
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 1 });
    expect(channel.serverChain?.leafPem).toBe(servedA.leafPem);
    // the serial the server reports (Welcome) is the one seen: nothing forgotten
    channel.noteServerSerial(servedA.serialNumber);
    await reconnect();
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 2 });
    // the server's Welcome names another certificate: the next connection is a full handshake and shows it
    channel.noteServerSerial(servedB.serialNumber);
    await reconnect();
    expect(channel.tlsSessions).toMatchObject({ full: 2, resumed: 2 });
    expect(channel.serverChain?.leafPem).toBe(servedB.leafPem);
  });
});

describe('TlsSessionCache', () => {
  const key = (certificatePem: string) =>
    sessionKey({ serverAddress: '127.0.0.1:1', serverName: 'localhost', trustBundlePem: 'roots', certificatePem });

  it('keeps the newest sessions of one key, at most maxSessions, each until maxAgeMs', async () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    const cache = new TlsSessionCache({ clock, maxSessions: 2, maxAgeMs: 1000 });
    const a = key('a');
    for (const n of [1, 2, 3]) cache.store(a, Buffer.from([n]), undefined);
    expect(cache.size).toBe(2);
    expect(cache.take(a)?.session).toEqual(Buffer.from([3]));
    expect(cache.take(key('b'))).toBeUndefined();
    await clock.advance(1000);
    expect(cache.take(a)).toBeUndefined();
    expect(cache.size).toBe(0);

    cache.store(a, Buffer.from([4]), undefined);
    cache.store(key('b'), Buffer.from([5]), undefined);
    expect(cache.take(a)).toBeUndefined();
    expect(cache.take(key('b'))?.session).toEqual(Buffer.from([5]));
    cache.clear();
    expect(cache.take(key('b'))).toBeUndefined();
    expect(cache.stats.stored).toBe(5);
  });

  it('keys on every input: address, name, roots, certificate', () => {
    const base = { serverAddress: 'h:1', serverName: 'n', trustBundlePem: 't', certificatePem: 'c' };
    const keys = new Set([
      sessionKey(base),
      sessionKey({ ...base, serverAddress: 'h:2' }),
      sessionKey({ ...base, serverName: undefined }),
      sessionKey({ ...base, trustBundlePem: 't2' }),
      sessionKey({ ...base, certificatePem: 'c2' }),
      // no ambiguity between where one part ends and the next begins
      sessionKey({ ...base, serverName: 'nt', trustBundlePem: '' }),
    ]);
    expect(keys.size).toBe(6);
  });
});
