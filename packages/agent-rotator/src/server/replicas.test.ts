/**
 * Replicas: the fork helper's own refusals; and two RelayServer replicas on one store, in this process (fast; the same with two real `node:cluster` processes
 * behind one address, agents spread by the primary: replicas.e2e.test.ts). Real grpc-js agents over loopback mutual
 * TLS, both replicas on one manual clock:
 * - a revocation written to the store is seen by both: the replica holding the revoked agent's stream ends it, the
 *   other refuses that agent's Renew, both report the same CRL number, and the other agents' streams stay;
 * - one CRL writer: only the replica with `republishCrl` republishes before the CRL's nextUpdate; the other takes
 *   the fresh CRL from the store.
 */
import { isRevokingAuthority, ManualClock, REVOCATION_KEYS, readCrls } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapClient, certificatesClient, relayClient, unary } from '../agent/channel.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import type { AgentMessage, BootstrapRequest, RenewRequest, ServerMessage, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { TEST_TOKEN, until } from '../testing/index.js';
import { RelayServer, type RelayServerEvent } from './relay-server.js';
import { forkRelayReplicas, replicaIndex } from './replicas.js';
import { csrFor } from './test-support.js';

const { clients, startRelay } = relayPerTest();
let second: RelayServer | undefined;
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await second?.stop({ graceMs: 100 });
  second = undefined;
});

interface Agent {
  readonly cluster: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly serialNumber: string;
}

interface Held {
  readonly welcomed: Promise<void>;
  /** The certloop code the stream ended with ('' for a clean end). */
  readonly ended: Promise<string>;
  readonly isOpen: () => boolean;
}

describe('forkRelayReplicas', () => {
  it('forks only from the primary, with a sensible count', () => {
    expect(replicaIndex()).toBeUndefined();
    expect(() => forkRelayReplicas({ count: 0 })).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });
});

describe('RelayServer replicas on one store', () => {
  it('both see a revocation, and only the CRL writer republishes', async () => {
    const clock = new ManualClock(new Date());
    const a = await startRelay({ clock, republishCrl: true });
    second = new RelayServer({
      store: a.store,
      clock,
      address: '127.0.0.1:0',
      monitorExpiry: false,
      republishCrl: false,
    });
    const b = second;
    const addressB = await b.start();
    const published: Record<'a' | 'b', number> = { a: 0, b: 0 };
    const count = (who: 'a' | 'b') => (e: RelayServerEvent) => {
      if (e.type === 'crl-published') published[who]++;
    };
    a.server.subscribe(count('a'));
    b.subscribe(count('b'));

    const bootstrap = async (cluster: string, address: string): Promise<Agent> => {
      const client = bootstrapClient({ serverAddress: address }, a.trustBundlePem);
      clients.push(client);
      const { csrPem, privateKeyPem } = await csrFor(cluster);
      const request: BootstrapRequest = { token: TEST_TOKEN, cluster, csrPem, lifetimeSeconds: 0 };
      const issued = await unary<BootstrapRequest, SignResponse>(client, 'Bootstrap', request);
      const credentials = grpc.credentials.createSsl(
        Buffer.from(a.trustBundlePem),
        Buffer.from(privateKeyPem),
        Buffer.from(issued.certificatePem + issued.chainPem),
      );
      return { cluster, credentials, serialNumber: issued.serialNumber };
    };
    const hold = (agent: Agent, address: string): Held => {
      const client = relayClient({ serverAddress: address }, agent.credentials);
      clients.push(client);
      const stream = (
        client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ServerMessage> }
      ).Connect();
      let open = true;
      const welcomed = new Promise<void>((resolve) => stream.on('data', (m: ServerMessage) => m.welcome && resolve()));
      const ended = new Promise<string>((resolve) => {
        stream.on('error', (err: grpc.ServiceError) => resolve(String(err.metadata?.get(ERROR_CODE_TRAILER)[0])));
        stream.on('end', () => resolve(''));
      }).finally(() => {
        open = false;
      });
      stream.write({ hello: { cluster: agent.cluster, agent: 'replicas-test' } });
      return { welcomed, ended, isOpen: () => open };
    };
    const renew = async (agent: Agent, address: string): Promise<string> => {
      const client = certificatesClient({ serverAddress: address }, agent.credentials);
      clients.push(client);
      const { csrPem } = await csrFor(agent.cluster);
      try {
        await unary<RenewRequest, SignResponse>(client, 'Renew', { csrPem, lifetimeSeconds: 0 });
        return 'OK';
      } catch (err) {
        return String((err as grpc.ServiceError).metadata?.get(ERROR_CODE_TRAILER)[0]);
      }
    };

    // agents on both replicas (a certificate from either is good at the other: one CA, one store)
    const onA = await bootstrap('cluster-1', a.address);
    const revoked = await bootstrap('cluster-2', addressB);
    const onB = await bootstrap('cluster-3', addressB);
    const streams = [hold(onA, a.address), hold(revoked, addressB), hold(onB, addressB)];
    await Promise.all(streams.map((s) => s.welcomed));
    expect(a.server.metrics().connectedAgents).toBe(1);
    expect(b.metrics().connectedAgents).toBe(2);

    // one revocation in the store: B ends the stream it holds, A refuses that agent's Renew; the others stay
    const ca = a.pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the relay PKI signs with a revoking CA');
    const first = await ca.revoke({ serialNumber: revoked.serialNumber, reason: 'keyCompromise' });
    expect(await streams[1]!.ended).toBe('CERTLOOP_CHAIN_REVOKED');
    await until(() => a.server.metrics().crlNumber === first.crlNumber && b.metrics().crlNumber === first.crlNumber);
    expect(await renew(revoked, a.address)).toBe('CERTLOOP_CHAIN_REVOKED');
    expect(await renew(onA, addressB)).toBe('OK');
    expect(streams[0]!.isOpen() && streams[2]!.isOpen()).toBe(true);
    expect(a.server.metrics().connectedAgents + b.metrics().connectedAgents).toBe(2);

    // one CRL writer: by half the CRL's lifetime plus its jitter, A republishes; B writes nothing, takes A's CRL
    const signing = await a.store.get(a.pki.names.signing);
    const crl = readCrls(new TextDecoder().decode(signing!.data[REVOCATION_KEYS.crl]))[0]!;
    const lifetimeMs = crl.nextUpdate!.getTime() - crl.thisUpdate.getTime();
    // (jump, then fire what is overdue: each periodic timer runs once, not once per interval of the days skipped)
    clock.jumpTo(clock.now().getTime() + lifetimeMs * 0.65);
    while ((clock.nextTimerAt()?.getTime() ?? Number.POSITIVE_INFINITY) <= clock.now().getTime()) await clock.runNext();
    await until(() => a.server.metrics().crlNumber === first.crlNumber + 1);
    await until(() => b.metrics().crlNumber === first.crlNumber + 1);
    expect(published).toEqual({ a: 1, b: 0 });
    expect(await renew(revoked, addressB)).toBe('CERTLOOP_CHAIN_REVOKED');
  });
});
