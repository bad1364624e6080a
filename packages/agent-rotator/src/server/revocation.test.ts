/**
 * Revocation in the relay over real gRPC on loopback mTLS: a serial revoked with core's
 * `LocalCertificateAuthority.revoke` on the store ends that agent's open `Relay.Connect` stream as soon as the
 * server sees the new `ca.crl`, and its next Renew and Connect are refused (UNAUTHENTICATED /
 * `CERTLOOP_CHAIN_REVOKED`, nothing written), even after a cached good verdict; another agent is unaffected. The
 * server holding the signing key republishes the CRL before its nextUpdate, on its clock.
 */
import {
  isRevokingAuthority,
  ManualClock,
  type ParsedCrl,
  REVOCATION_KEYS,
  readCrls,
  type Secret,
} from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { bootstrapClient, certificatesClient, relayClient, unary } from '../agent/channel.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import type { AgentMessage, BootstrapRequest, RenewRequest, ServerMessage, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { TEST_TOKEN, type TestRelay, type TestRelayOptions, until } from '../testing/index.js';
import { csrFor } from './test-support.js';

const { clients, startRelay } = relayPerTest();

interface Agent {
  readonly cluster: string;
  readonly key: string;
  readonly cert: string;
  readonly serialNumber: string;
}

/** An agent certificate obtained the real way: Bootstrap with the token over server-authenticated TLS. */
async function bootstrapAgent(r: TestRelay, cluster: string): Promise<Agent> {
  const client = bootstrapClient({ serverAddress: r.address }, r.trustBundlePem);
  clients.push(client);
  const { csrPem, privateKeyPem } = await csrFor(cluster);
  const request: BootstrapRequest = { token: TEST_TOKEN, cluster, csrPem, lifetimeSeconds: 0 };
  const issued = await unary<BootstrapRequest, SignResponse>(client, 'Bootstrap', request);
  return {
    cluster,
    key: privateKeyPem,
    cert: issued.certificatePem + issued.chainPem,
    serialNumber: issued.serialNumber,
  };
}

function credentialsOf(r: TestRelay, agent: Agent) {
  return grpc.credentials.createSsl(Buffer.from(r.trustBundlePem), Buffer.from(agent.key), Buffer.from(agent.cert));
}

async function renew(r: TestRelay, agent: Agent): Promise<SignResponse> {
  const client = certificatesClient({ serverAddress: r.address }, credentialsOf(r, agent));
  clients.push(client);
  const { csrPem } = await csrFor(agent.cluster);
  return unary<RenewRequest, SignResponse>(client, 'Renew', { csrPem, lifetimeSeconds: 0 });
}

/**
 * A relay on a manual clock with two bootstrapped agents, `cluster-1` revoked and its CRL taken by the server,
 * `cluster-2` not.
 */
async function relayWithOneRevoked(options: Omit<TestRelayOptions, 'clock'>) {
  const clock = new ManualClock(new Date());
  const relay = await startRelay({ clock, ...options });
  const r = relay;
  const revoked = await bootstrapAgent(r, 'cluster-1');
  const other = await bootstrapAgent(r, 'cluster-2');
  const ca = r.pki.signingCa;
  if (!isRevokingAuthority(ca)) throw new Error('the bootstrapped signing CA revokes');
  const first = await ca.revoke({ serialNumber: revoked.serialNumber });
  await until(() => r.server.metrics().crlNumber === first.crlNumber);
  return { clock, r, revoked, other, ca, first };
}

interface OpenStream {
  /** Resolves with the stream's end: gRPC status name and the certloop code in the trailer. */
  readonly ended: Promise<{ status: string; code: string }>;
  readonly welcomed: Promise<void>;
  readonly heartbeats: () => number;
}

/** A raw `Relay.Connect` stream with the agent's certificate: Hello, then wait for Welcome. */
function connect(r: TestRelay, agent: Agent): OpenStream {
  const client = relayClient({ serverAddress: r.address }, credentialsOf(r, agent));
  clients.push(client);
  const stream = (client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ServerMessage> }).Connect();
  let heartbeats = 0;
  let welcome!: () => void;
  const welcomed = new Promise<void>((resolve) => {
    welcome = resolve;
  });
  stream.on('data', (message: ServerMessage) => {
    if (message.welcome) welcome();
    if (message.heartbeat) heartbeats++;
  });
  const ended = new Promise<{ status: string; code: string }>((resolve) => {
    stream.on('error', (err: grpc.ServiceError) =>
      resolve({ status: grpc.status[err.code]!, code: String(err.metadata?.get(ERROR_CODE_TRAILER)[0]) }),
    );
    stream.on('end', () => resolve({ status: 'OK', code: '' }));
  });
  stream.write({ hello: { cluster: agent.cluster, agent: 'revocation-test' } });
  return { ended, welcomed, heartbeats: () => heartbeats };
}

async function refusal(call: Promise<unknown>): Promise<{ status: string; code: string }> {
  const err = (await call.then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e,
  )) as grpc.ServiceError;
  return { status: grpc.status[err.code]!, code: String(err.metadata.get(ERROR_CODE_TRAILER)[0]) };
}

async function snapshot(r: TestRelay): Promise<string[]> {
  return (await r.store.list()).map((s: Secret) => `${s.name}@${s.version}`);
}

async function crlInStore(r: TestRelay): Promise<ParsedCrl> {
  const secret = await r.store.get(r.pki.names.signing);
  const raw = secret?.data[REVOCATION_KEYS.crl];
  if (!raw) throw new Error('no CRL in the signing secret');
  return readCrls(new TextDecoder().decode(raw))[0]!;
}

async function crlNumberInStore(r: TestRelay): Promise<number | undefined> {
  const hex = (await crlInStore(r)).crlNumber;
  return hex === undefined ? undefined : Number.parseInt(hex, 16);
}

describe('RelayServer revocation', () => {
  it('ends a revoked agent stream at once and refuses its next Renew and Connect; others carry on', async () => {
    const relay = await startRelay({ heartbeatIntervalMs: 25 });
    const r = relay;
    const revoked = await bootstrapAgent(r, 'cluster-1');
    const other = await bootstrapAgent(r, 'cluster-2');
    // a good verdict for the agent to be revoked is cached first: the cache must not hide the revocation
    await renew(r, revoked);
    const revokedStream = connect(r, revoked);
    const otherStream = connect(r, other);
    await Promise.all([revokedStream.welcomed, otherStream.welcomed]);
    expect(
      r.server
        .connections()
        .map((c) => c.cluster)
        .sort(),
    ).toEqual(['cluster-1', 'cluster-2']);
    expect(r.server.metrics().crlNumber).toBeUndefined();

    const ca = r.pki.signingCa;
    expect(isRevokingAuthority(ca)).toBe(true);
    const crlEvents: number[] = [];
    r.server.subscribe((e) => {
      if (e.type === 'crl') crlEvents.push(e.disconnected);
    });
    const result = await ca.revoke({ serialNumber: revoked.serialNumber, reason: 'keyCompromise' });

    // the open stream ends with the revocation's status and code, as soon as the server sees the CRL
    expect(await revokedStream.ended).toEqual({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_REVOKED' });
    await until(() => r.server.connections().length === 1);
    expect(r.server.connections()[0]).toMatchObject({ cluster: 'cluster-2', serialNumber: other.serialNumber });
    expect(crlEvents).toEqual([1]);
    expect(r.server.metrics().crlNumber).toBe(result.crlNumber);

    // its next calls are refused, and nothing is issued or written
    const issuedBefore = r.server.metrics().issued;
    const before = await snapshot(r);
    expect(await refusal(renew(r, revoked))).toEqual({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_REVOKED' });
    expect(await connect(r, revoked).ended).toEqual({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_REVOKED' });
    expect(await snapshot(r)).toEqual(before);
    expect(r.server.metrics().issued).toBe(issuedBefore);
    expect(r.server.metrics().refused.CERTLOOP_CHAIN_REVOKED).toBe(3);

    // the other agent: stream still up (heartbeats go on), renewal still granted
    const beats = otherStream.heartbeats();
    await until(() => otherStream.heartbeats() > beats + 1);
    const renewed = await renew(r, other);
    expect(renewed.serialNumber).not.toBe(other.serialNumber);
    expect(r.server.connections().map((c) => c.cluster)).toEqual(['cluster-2']);
  });

  it('republishes the CRL before its nextUpdate on its clock, so agents keep renewing past the first one', async () => {
    const { clock, r, revoked, other, first } = await relayWithOneRevoked({});
    const stored = await crlInStore(r);
    const lifetimeMs = stored.nextUpdate!.getTime() - stored.thisUpdate.getTime();

    // before half its lifetime: nothing republished
    await clock.advance(lifetimeMs * 0.45);
    expect(await crlNumberInStore(r)).toBe(first.crlNumber);
    // by half its lifetime plus the jitter (at most a tenth): a fresh CRL, taken by the server
    await clock.advance(lifetimeMs * 0.2);
    const next = first.crlNumber + 1;
    await until(async () => (await crlNumberInStore(r)) === next);
    await until(() => r.server.metrics().crlNumber === next);

    // past the first CRL's nextUpdate (and the grace): the other agent renews, the revoked one is still refused
    await clock.advance(lifetimeMs * 0.5);
    expect((await renew(r, other)).serialNumber).toMatch(/^[0-9a-f]+$/);
    expect(await refusal(renew(r, revoked))).toEqual({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_REVOKED' });
  });

  it('without republication, a CRL past its nextUpdate refuses renewals (why the server republishes)', async () => {
    const { clock, r, other, ca, first } = await relayWithOneRevoked({
      republishCrl: false,
      crlGraceSeconds: 60,
    });
    await renew(r, other); // a good verdict, cached: it must not outlive the CRL it was made with
    await clock.advanceTo(new Date((await crlInStore(r)).nextUpdate!.getTime() + 61_000));
    expect(await crlNumberInStore(r)).toBe(first.crlNumber);
    expect(await refusal(renew(r, other))).toEqual({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_CRL_EXPIRED' });
    // an operator publishes a fresh one: renewals resume
    await ca.publishCrl();
    await until(() => r.server.metrics().crlNumber === first.crlNumber + 1);
    expect((await renew(r, other)).serialNumber).toMatch(/^[0-9a-f]+$/);
  });
});
