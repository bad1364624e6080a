/**
 * Test support (not published) for TLS session resumption: a loopback TCP proxy whose connections a test can cut
 * (grpc-js then reconnects by itself), an agent certificate bootstrapped the real way and kept in the relay's store
 * behind a `CredentialProvider`, and a `MutualChannel` to the relay through the proxy.
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { type Clock, CredentialProvider, tlsSecretData } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { csrFor } from '../server/test-support.js';
import type { BootstrapRequest, RenewRequest, SignResponse } from '../shared/proto.js';
import type { TestRelay } from '../testing/index.js';
import { bootstrapClient, unary } from './channel.js';
import { MutualChannel } from './mutual-channel.js';

export interface CuttableProxy {
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** Cuts every open connection (both sides). */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP proxy on loopback to `target` (`host:port`). */
export async function cuttableProxy(target: string): Promise<CuttableProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = tcpConnect(port, host);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: bound } = server.address() as { port: number };
  const cut = () => {
    for (const s of open) s.destroy();
  };
  return {
    address: `127.0.0.1:${bound}`,
    cut,
    close() {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface AgentUnderTest {
  readonly cluster: string;
  readonly secretName: string;
  readonly provider: CredentialProvider;
  serialNumber: string;
}

/** Bootstraps `cluster` with the relay's token (`lifetimeSeconds` 0: the server's default), puts its certificate in the relay's store and starts a provider. */
export async function bootstrappedAgent(r: TestRelay, cluster: string, lifetimeSeconds = 0): Promise<AgentUnderTest> {
  const client = bootstrapClient({ serverAddress: r.address }, r.trustBundlePem);
  try {
    const { csrPem, privateKeyPem } = await csrFor(cluster);
    const request: BootstrapRequest = { token: r.token, cluster, csrPem, lifetimeSeconds };
    const issued = await unary<BootstrapRequest, SignResponse>(client, 'Bootstrap', request);
    const secretName = `resumption-${cluster}`;
    const certificatePem = issued.certificatePem + issued.chainPem;
    await r.store.put(secretName, { data: tlsSecretData({ certificatePem, privateKeyPem }) });
    const provider = new CredentialProvider({ name: secretName, watcher: r.store, usage: 'clientAuth' });
    await provider.start();
    return { cluster, secretName, provider, serialNumber: issued.serialNumber };
  } finally {
    client.close();
  }
}

/** A MutualChannel of `agent` to `address` (the proxy), server name `localhost`. */
export function channelOf(
  agent: AgentUnderTest,
  address: string,
  trustBundlePem: () => string,
  options: { clock?: Clock; resumeTlsSessions?: boolean } = {},
): MutualChannel {
  return new MutualChannel({
    serverAddress: address,
    serverName: 'localhost',
    provider: agent.provider,
    trustBundlePem,
    ...options,
  });
}

/**
 * `Certificates.Renew` over the channel; with `keep`, the new certificate becomes the agent's (written to the
 * store; resolves once the provider took it).
 */
export async function renewOver(
  r: TestRelay,
  channel: MutualChannel,
  agent: AgentUnderTest,
  keep = false,
): Promise<SignResponse> {
  const lease = channel.acquire();
  try {
    const { csrPem, privateKeyPem } = await csrFor(agent.cluster);
    const issued = await unary<RenewRequest, SignResponse>(lease.certificates, 'Renew', { csrPem, lifetimeSeconds: 0 });
    if (keep) {
      const certificatePem = issued.certificatePem + issued.chainPem;
      await r.store.put(agent.secretName, { data: tlsSecretData({ certificatePem, privateKeyPem }) });
      const deadline = Date.now() + 10_000;
      while (agent.provider.current()?.leaf.serialNumber !== issued.serialNumber) {
        if (Date.now() > deadline) throw new Error('the provider did not take the renewed certificate');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      agent.serialNumber = issued.serialNumber;
    }
    return issued;
  } finally {
    lease.release();
  }
}

/** Cuts the proxy's connections and waits until the channel has seen its connection go. */
export async function cutAndWait(proxy: CuttableProxy, channel: MutualChannel): Promise<void> {
  const lease = channel.acquire();
  try {
    const grpcChannel = lease.certificates.getChannel();
    proxy.cut();
    const deadline = Date.now() + 10_000;
    while (grpcChannel.getConnectivityState(false) === grpc.connectivityState.READY) {
      if (Date.now() > deadline) throw new Error('the channel did not see the cut');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    lease.release();
  }
}
