/**
 * Verdicts per connection (issue 16, items 1 and 2): several Renew calls over one mutual-TLS connection reuse the
 * connection's verdict, yet every call still checks expiry (on the server's clock) and revocation: the same
 * connection is refused once its certificate has expired or was revoked. A certificate the server's own CA issued
 * has its verdict cached at issuance.
 */
import { isRevokingAuthority, ManualClock } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { bootstrapClient, certificatesClient, unary } from '../agent/channel.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import type { BootstrapRequest, RenewRequest, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { TEST_TOKEN, type TestRelay } from '../testing/index.js';
import { csrFor } from './test-support.js';

const { clients, startRelay } = relayPerTest();

async function code(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'ok',
    (e: grpc.ServiceError) => String(e.metadata?.get(ERROR_CODE_TRAILER)[0]),
  );
}

async function oneConnection(r: TestRelay, lifetimeSeconds: number) {
  const boot = bootstrapClient({ serverAddress: r.address }, r.trustBundlePem);
  clients.push(boot);
  const { csrPem, privateKeyPem } = await csrFor('cluster-1');
  const request: BootstrapRequest = { token: TEST_TOKEN, cluster: 'cluster-1', csrPem, lifetimeSeconds };
  const issued = await unary<BootstrapRequest, SignResponse>(boot, 'Bootstrap', request);
  const client = certificatesClient(
    { serverAddress: r.address },
    grpc.credentials.createSsl(
      Buffer.from(r.trustBundlePem),
      Buffer.from(privateKeyPem),
      Buffer.from(issued.certificatePem + issued.chainPem),
    ),
  );
  clients.push(client);
  const next = await csrFor('cluster-1');
  const renew = () => unary<RenewRequest, SignResponse>(client, 'Renew', { csrPem: next.csrPem, lifetimeSeconds });
  return { issued, renew };
}

describe('client-certificate verdicts per connection', () => {
  it('reuse the verdict on one connection but still refuse it once the certificate expired', async () => {
    const clock = new ManualClock(Date.now());
    const relay = await startRelay({ clock });
    const { renew } = await oneConnection(relay, 3600);
    expect(await code(renew())).toBe('ok');
    expect(await code(renew())).toBe('ok');
    expect(relay.server.metrics().clientCheck).toEqual({ connections: 1, remembered: 3 });
    await clock.advance(2 * 3600_000);
    expect(await code(renew())).toBe('CERTLOOP_CHAIN_EXPIRED');
  });

  it('refuse the same connection as soon as its certificate is revoked', async () => {
    const relay = await startRelay({ clock: new ManualClock(Date.now()) });
    const { issued, renew } = await oneConnection(relay, 3600);
    expect(await code(renew())).toBe('ok');
    const ca = relay.pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the test relay signs with a revoking CA');
    await ca.revoke({ serialNumber: issued.serialNumber, reason: 'keyCompromise' });
    const server = relay.server;
    const until = Date.now() + 5000;
    while (server.metrics().crlNumber === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(await code(renew())).toBe('CERTLOOP_CHAIN_REVOKED');
  });
});
