/**
 * The Certificates service over real gRPC on loopback TLS: bootstrap then renewal, and every refusal the issue
 * lists, each with its gRPC status and certloop code in the trailer, and nothing issued or written.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CredentialProvider, issuedTlsSecret, ManualClock, type Secret } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { bootstrapClient, certificatesClient, relayClient, unary } from '../agent/channel.js';
import { RelayCaClient } from '../agent/relay-ca-client.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import type { AgentMessage, BootstrapRequest, RenewRequest, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { TEST_TOKEN, type TestRelay } from '../testing/index.js';
import { csrFor } from './test-support.js';
import { perClusterTokenVerifier } from './token.js';

const { clients, startRelay } = relayPerTest();

function bootstrap(r: TestRelay, request: Partial<BootstrapRequest>): Promise<SignResponse> {
  const client = bootstrapClient({ serverAddress: r.address }, r.trustBundlePem);
  clients.push(client);
  const body: BootstrapRequest = { token: '', cluster: '', csrPem: '', lifetimeSeconds: 0, ...request };
  return unary(client, 'Bootstrap', body);
}

function renewWith(r: TestRelay, identity: { key: string; cert: string } | undefined, csrPem: string) {
  const credentials = identity
    ? grpc.credentials.createSsl(Buffer.from(r.trustBundlePem), Buffer.from(identity.key), Buffer.from(identity.cert))
    : grpc.credentials.createSsl(Buffer.from(r.trustBundlePem));
  const client = certificatesClient({ serverAddress: r.address }, credentials);
  clients.push(client);
  return unary<RenewRequest, SignResponse>(client, 'Renew', { csrPem, lifetimeSeconds: 0 });
}

/** The refusal's gRPC status and certloop code; fails the test if the call succeeded. */
async function refusal(call: Promise<unknown>): Promise<{ status: string; code: string; details: string }> {
  const err = (await call.then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e,
  )) as grpc.ServiceError;
  return {
    status: grpc.status[err.code]!,
    code: String(err.metadata.get(ERROR_CODE_TRAILER)[0]),
    details: err.details,
  };
}

async function snapshot(r: TestRelay): Promise<string[]> {
  return (await r.store.list()).map((s: Secret) => `${s.name}@${s.version}`);
}

describe('Certificates.Bootstrap and Renew', () => {
  it('bootstraps with the token, then renews with the certificate it got, through RelayCaClient', async () => {
    const relay = await startRelay();
    const provider = new CredentialProvider({ name: 'relay-client-tls-secret', usage: 'clientAuth' });
    const client = new RelayCaClient({
      serverAddress: relay.address,
      cluster: 'cluster-1',
      trustBundlePem: relay.trustBundlePem,
      provider,
      token: () => TEST_TOKEN,
    });
    try {
      const first = await csrFor('cluster-1');
      expect(client.path()).toBe('bootstrap');
      const issued = await client.sign({ csrPem: first.csrPem, lifetimeSeconds: 86_400, profile: 'client' });
      expect(client.lastPath).toBe('bootstrap');
      const secret = await relay.store.put(
        'relay-client-tls-secret',
        issuedTlsSecret({ role: 'client', privateKeyPem: first.privateKeyPem, result: issued }),
      );
      expect(await provider.offer(secret)).toBe(true);

      const second = await csrFor('cluster-1');
      expect(client.path()).toBe('renew');
      const renewed = await client.sign({ csrPem: second.csrPem, lifetimeSeconds: 86_400, profile: 'client' });
      expect(client.lastPath).toBe('renew');
      expect(renewed.serialNumber).not.toBe(issued.serialNumber);
      expect(renewed.notAfter.getTime() - renewed.notBefore.getTime()).toBeLessThanOrEqual((86_400 + 60) * 1000);
      expect(relay.server.metrics()).toMatchObject({ issued: 2, bootstraps: 1, renewals: 1, refused: {} });
      // interop: OpenSSL accepts the renewed certificate for TLS client use under the relay's root
      const dir = await mkdtemp(join(tmpdir(), 'relay-openssl-'));
      try {
        await writeFile(join(dir, 'root.pem'), renewed.trustBundlePem);
        await writeFile(join(dir, 'chain.pem'), renewed.chainPem);
        await writeFile(join(dir, 'leaf.pem'), renewed.certificatePem);
        const args = ['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'];
        const { stdout } = await promisify(execFile)('openssl', args, { cwd: dir });
        expect(stdout).toContain('leaf.pem: OK');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      client.close();
      provider.close();
    }
  });

  it('refuses a wrong token, a missing token and a CSR for another cluster, issuing and writing nothing', async () => {
    const relay = await startRelay();
    const before = await snapshot(relay);
    const { csrPem } = await csrFor('cluster-1');
    const wrong = await refusal(bootstrap(relay, { token: 'not-the-token-0123456789', cluster: 'cluster-1', csrPem }));
    expect(wrong).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_TOKEN_INVALID' });
    expect(wrong.details).not.toContain('not-the-token');
    const missing = await refusal(bootstrap(relay, { cluster: 'cluster-1', csrPem }));
    expect(missing).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_TOKEN_INVALID' });
    const other = await csrFor('cluster-2');
    const mismatch = await refusal(bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem: other.csrPem }));
    expect(mismatch).toMatchObject({ status: 'PERMISSION_DENIED', code: 'CERTLOOP_CSR_IDENTITY_MISMATCH' });
    expect(mismatch.details).not.toContain(TEST_TOKEN);
    const sanOnly = await csrFor('cluster-1', ['cluster-1', 'cluster-2']);
    const extraSan = await refusal(
      bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem: sanOnly.csrPem }),
    );
    expect(extraSan).toMatchObject({ status: 'PERMISSION_DENIED', code: 'CERTLOOP_CSR_IDENTITY_MISMATCH' });
    const badName = await refusal(bootstrap(relay, { token: TEST_TOKEN, cluster: 'Cluster_1', csrPem }));
    expect(badName).toMatchObject({ status: 'INVALID_ARGUMENT', code: 'CERTLOOP_INVALID_ARGUMENT' });
    expect(relay.server.metrics().issued).toBe(0);
    expect(await snapshot(relay)).toEqual(before);
  });

  it('refuses a token issued for another cluster (per-cluster tokens)', async () => {
    const relay = await startRelay({
      tokenVerifier: perClusterTokenVerifier({
        'cluster-a': 'token-for-cluster-a-0123',
        'cluster-b': 'token-for-b-4567',
      }),
    });
    const { csrPem } = await csrFor('cluster-b');
    const crossed = await refusal(
      bootstrap(relay, { token: 'token-for-cluster-a-0123', cluster: 'cluster-b', csrPem }),
    );
    expect(crossed).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_TOKEN_INVALID' });
    const own = await bootstrap(relay, { token: 'token-for-b-4567', cluster: 'cluster-b', csrPem });
    expect(own.serialNumber).toMatch(/^[0-9a-f]+$/);
    expect(relay.server.metrics()).toMatchObject({ issued: 1, refused: { CERTLOOP_TOKEN_INVALID: 1 } });
  });

  it('rate-limits failed bootstrap attempts per address and cluster, even once the token is right', async () => {
    const relay = await startRelay({ failedBootstrapRateLimit: { burst: 3, perSecond: 0.001 } });
    const { csrPem } = await csrFor('cluster-1');
    for (let i = 0; i < 3; i++) {
      const r = await refusal(bootstrap(relay, { token: `wrong-token-attempt-${i}`, cluster: 'cluster-1', csrPem }));
      expect(r.code).toBe('CERTLOOP_TOKEN_INVALID');
    }
    const limited = await refusal(bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem }));
    expect(limited).toMatchObject({ status: 'RESOURCE_EXHAUSTED', code: 'CERTLOOP_RATE_LIMITED' });
    // another cluster behind the same address is not locked out
    const other = await csrFor('cluster-2');
    const issued = await bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-2', csrPem: other.csrPem });
    expect(issued.serialNumber).toMatch(/^[0-9a-f]+$/);
    expect(relay.server.metrics().issued).toBe(1);
  });

  it('rate-limits calls per peer before looking at them', async () => {
    const relay = await startRelay({ callRateLimit: { burst: 2, perSecond: 0.001 } });
    const { csrPem } = await csrFor('cluster-1');
    await bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem });
    await bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem });
    const limited = await refusal(bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem }));
    expect(limited).toMatchObject({ status: 'RESOURCE_EXHAUSTED', code: 'CERTLOOP_RATE_LIMITED' });
  });

  it('bounds the CSR size and the message size before parsing', async () => {
    const relay = await startRelay({ maxCsrBytes: 2048, maxMessageBytes: 8192 });
    const big = `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(4000)}\n-----END CERTIFICATE REQUEST-----\n`;
    const tooBig = await refusal(bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem: big }));
    expect(tooBig).toMatchObject({ status: 'INVALID_ARGUMENT', code: 'CERTLOOP_INPUT_TOO_LARGE' });
    const huge = await bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem: 'A'.repeat(20_000) }).then(
      () => expect.unreachable(),
      (e: grpc.ServiceError) => e,
    );
    expect(grpc.status[huge.code]).toBe('RESOURCE_EXHAUSTED');
    const garbage = await refusal(bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem: 'not a csr' }));
    expect(garbage.status).toBe('INVALID_ARGUMENT');
    expect(relay.server.metrics().issued).toBe(0);
  });

  it('refuses renewal without a client certificate, from a foreign CA, serverAuth-only or expired, saying which', async () => {
    // the relay's clock (and so its PKI) starts three hours back: a one-hour certificate issued then has expired
    // on the real clock TLS checks with
    const relay = await startRelay({ clock: new ManualClock(Date.now() - 3 * 3600_000) });
    const before = await snapshot(relay);
    const { csrPem } = await csrFor('cluster-1');
    const none = await refusal(renewWith(relay, undefined, csrPem));
    expect(none).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_UNAUTHENTICATED' });

    const foreign = await createTestPki();
    const stranger = await foreign.issue({ commonName: 'cluster-1', dnsNames: ['cluster-1'], profile: 'client' });
    const fromForeign = await refusal(
      renewWith(relay, { key: stranger.privateKeyPem, cert: stranger.certificatePem }, csrPem),
    );
    expect(fromForeign).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_UNTRUSTED' });

    const serverOnly = await relay.pki.signingCa.issue({
      commonName: 'cluster-1',
      dnsNames: ['cluster-1'],
      lifetimeSeconds: 7 * 86_400,
      profile: 'server',
    });
    const withServerCert = await refusal(
      renewWith(
        relay,
        { key: serverOnly.privateKeyPem, cert: serverOnly.certificatePem + serverOnly.chainPem },
        csrPem,
      ),
    );
    // TLS refuses to verify it for client use (OpenSSL's ssl_client purpose); the refusal says so
    expect(withServerCert).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_EXT_KEY_USAGE' });

    const old = await relay.pki.signingCa.issue({
      commonName: 'cluster-1',
      dnsNames: ['cluster-1'],
      lifetimeSeconds: 3600,
      profile: 'client',
    });
    const expired = await refusal(
      renewWith(relay, { key: old.privateKeyPem, cert: old.certificatePem + old.chainPem }, csrPem),
    );
    expect(expired).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_EXPIRED' });
    expect(expired.details).toContain('CERT_HAS_EXPIRED');
    // Relay.Connect refuses the same way
    const relayStream = relayClient(
      { serverAddress: relay.address },
      grpc.credentials.createSsl(
        Buffer.from(relay.trustBundlePem),
        Buffer.from(old.privateKeyPem),
        Buffer.from(old.certificatePem + old.chainPem),
      ),
    );
    clients.push(relayStream);
    const stream = (relayStream as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, unknown> }).Connect();
    const streamRefusal = new Promise<string>((resolve) =>
      stream.on('error', (err: grpc.ServiceError) => resolve(String(err.metadata?.get(ERROR_CODE_TRAILER)[0]))),
    );
    stream.write({ hello: { cluster: 'cluster-1', agent: 'test' } });
    expect(await streamRefusal).toBe('CERTLOOP_CHAIN_EXPIRED');
    const metrics = relay.server.metrics();
    expect(metrics.issued).toBe(0);
    expect(metrics.refused).toMatchObject({
      CERTLOOP_UNAUTHENTICATED: 1,
      CERTLOOP_CHAIN_UNTRUSTED: 1,
      CERTLOOP_CHAIN_EXT_KEY_USAGE: 1,
      CERTLOOP_CHAIN_EXPIRED: 2,
    });
    expect(await snapshot(relay)).toEqual(before);
  });

  it('refuses renewal with a certificate that expired (on the server clock) and with a CSR naming someone else', async () => {
    const clock = new ManualClock(new Date());
    const relay = await startRelay({ clock, maxLifetimeSeconds: 3600 });
    const first = await csrFor('cluster-1');
    const issued = await bootstrap(relay, { token: TEST_TOKEN, cluster: 'cluster-1', csrPem: first.csrPem });
    const identity = { key: first.privateKeyPem, cert: issued.certificatePem + issued.chainPem };

    const other = await csrFor('cluster-2');
    const mismatch = await refusal(renewWith(relay, identity, other.csrPem));
    expect(mismatch).toMatchObject({ status: 'PERMISSION_DENIED', code: 'CERTLOOP_CSR_IDENTITY_MISMATCH' });

    const next = await csrFor('cluster-1');
    await renewWith(relay, identity, next.csrPem); // valid now
    await clock.advance(2 * 3600 * 1000);
    const expired = await refusal(renewWith(relay, identity, next.csrPem));
    expect(expired).toMatchObject({ status: 'UNAUTHENTICATED', code: 'CERTLOOP_CHAIN_EXPIRED' });
    expect(relay.server.metrics()).toMatchObject({ issued: 2, refused: { CERTLOOP_CHAIN_EXPIRED: 1 } });
  });
});
