/**
 * The server side of TLS session resumption: a resumed connection skips the certificate exchange, and TLS then
 * reports the peer certificate of the original handshake (`authorized`, `getPeerCertificate()`) without checking it
 * again. The relay's per-call check (client-check.ts: validity on the server's clock, revocation, the path to the
 * current trust) runs on every call of a resumed connection all the same. Shown twice, with real TLS on loopback:
 * - the RelayServer (real grpc-js agents through a cuttable proxy): a revoked certificate and an expired one
 *   (injected clock) are refused on a resumed connection;
 * - any Node http2 secure server (`requestCert`, Node's default session tickets) with `ClientCertificateCheck`: a
 *   resumed connection reports `isSessionReused()` and the original client certificate, and a revoked certificate,
 *   an expired one and one from a retired CA are refused on it, a good one accepted.
 */
import { createSecureServer, connect as h2connect, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  bootstrapRelayPki,
  isCertloopError,
  isRevokingAuthority,
  type LocalCertificateAuthority,
  ManualClock,
  MemorySecretStore,
  readTlsMaterial,
} from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { MutualChannel } from './agent/mutual-channel.js';
import {
  type AgentUnderTest,
  bootstrappedAgent,
  type CuttableProxy,
  channelOf,
  cutAndWait,
  cuttableProxy,
  renewOver,
} from './agent/resumption.test-support.js';
import { relayPerTest } from './relay-per-test.test-support.js';
import { ClientCertificateCheck } from './server/client-check.js';
import { ERROR_CODE_TRAILER } from './shared/status.js';
import { TEST_TOKEN, until } from './testing/index.js';

const { startRelay } = relayPerTest();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The certloop code a refused gRPC call carries. */
async function refusalCode(call: Promise<unknown>): Promise<string> {
  const err = (await call.then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e,
  )) as grpc.ServiceError;
  expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  return String(err.metadata.get(ERROR_CODE_TRAILER)[0]);
}

describe('RelayServer: a resumed connection is checked on every call', () => {
  async function setUp(clock?: ManualClock) {
    const relay = await startRelay(clock ? { clock } : {});
    const proxy: CuttableProxy = await cuttableProxy(relay.address);
    const agent: AgentUnderTest = await bootstrappedAgent(relay, 'cluster-1', 3600);
    const channel: MutualChannel = channelOf(agent, proxy.address, () => relay.trustBundlePem);
    cleanups.push(
      () => proxy.close(),
      () => agent.provider.close(),
      () => channel.close(),
    );
    await renewOver(relay, channel, agent);
    return { relay, proxy, agent, channel };
  }

  it('refuses a revoked certificate on a resumed connection', async () => {
    const { relay, proxy, agent, channel } = await setUp();
    const ca = relay.pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the bootstrapped signing CA revokes');
    const crl = await ca.revoke({ serialNumber: agent.serialNumber });
    await until(() => relay.server.metrics().crlNumber === crl.crlNumber);
    await cutAndWait(proxy, channel);
    expect(await refusalCode(renewOver(relay, channel, agent))).toBe('CERTLOOP_CHAIN_REVOKED');
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 1 });
  });

  it('refuses an expired certificate on a resumed connection (the server judges on its own clock)', async () => {
    const clock = new ManualClock(new Date());
    const { relay, proxy, agent, channel } = await setUp(clock);
    const notAfter = agent.provider.current()!.leaf.notAfter.getTime();
    await clock.advanceTo(notAfter + 1000);
    await cutAndWait(proxy, channel);
    expect(await refusalCode(renewOver(relay, channel, agent))).toBe('CERTLOOP_CHAIN_EXPIRED');
    expect(channel.tlsSessions).toMatchObject({ full: 1, resumed: 1 });
  });
});

describe('any Node http2 secure server: ClientCertificateCheck on resumed connections', () => {
  /**
   * A Node http2 secure server asking for a client certificate (Node's defaults otherwise: session tickets on),
   * answering each request with the check's verdict on that connection; and a client that offers its last session.
   */
  async function serve(check: ClientCertificateCheck, tls: { key: string; cert: string; ca: string }, client: object) {
    const server = createSecureServer({ ...tls, requestCert: true, rejectUnauthorized: false });
    server.on('stream', (stream: ServerHttp2Stream) => {
      const socket = stream.session!.socket as TLSSocket;
      const auth = socket.authorized ? { sslPeerCertificate: socket.getPeerCertificate() } : {};
      const reused = String(socket.isSessionReused());
      const serial = socket.getPeerCertificate().serialNumber;
      check.checkCall({ getAuthContext: () => auth }, socket).then(
        () => stream.respond({ ':status': 200, reused, serial }, { endStream: true }),
        (err: unknown) =>
          stream.respond(
            { ':status': 403, reused, code: isCertloopError(err) ? err.code : 'unknown' },
            { endStream: true },
          ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as AddressInfo).port;
    let session: Buffer | undefined;
    /** One request on a new connection (offering the last session): what the server said. */
    return async function request(): Promise<{ status: number; reused: boolean; code?: string; serial?: string }> {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ALPNProtocols: ['h2'],
        ca: tls.ca,
        ...client,
        ...(session ? { session } : {}),
      });
      socket.on('session', (s: Buffer) => {
        session = s;
      });
      const h2 = h2connect(`https://localhost:${port}`, { createConnection: () => socket });
      try {
        const headers = await new Promise<Record<string, string | string[] | number | undefined>>((resolve, reject) => {
          const req = h2.request({ ':path': '/' });
          req.on('response', resolve);
          req.on('error', reject);
          req.resume();
        });
        // the tickets follow the handshake: have one before the connection closes
        await until(() => session !== undefined);
        expect(headers.reused).toBe(String(socket.isSessionReused()));
        return {
          status: Number(headers[':status']),
          reused: headers.reused === 'true',
          ...(headers.code ? { code: String(headers.code) } : {}),
          ...(headers.serial ? { serial: String(headers.serial) } : {}),
        };
      } finally {
        h2.close();
      }
    };
  }

  it('a resumed connection carries the original certificate; revoked, retired-CA and expired ones are refused on it', async () => {
    const clock = new ManualClock(new Date());
    const storeA = new MemorySecretStore();
    const a = await bootstrapRelayPki({ store: storeA, token: TEST_TOKEN, clock });
    const b = await bootstrapRelayPki({ store: new MemorySecretStore(), token: TEST_TOKEN, clock });
    const signing = a.signingCa as LocalCertificateAuthority;
    const issue = () => signing.issue({ commonName: 'cluster-1', profile: 'client', lifetimeSeconds: 3600 });
    const serverTls = readTlsMaterial((await storeA.get(a.names.server))!);
    const good = await issue();
    const revoked = await issue();
    const bothRoots = a.trustBundlePem + b.trustBundlePem;
    const check = new ClientCertificateCheck({ clock });
    await check.setTrust({ trustBundlePem: bothRoots, intermediatesPem: good.chainPem });
    // TLS verifies against A (root and the signing intermediate) and keeps doing so: only the check changes
    const tls = {
      key: serverTls.privateKeyPem!,
      cert: serverTls.certificatePem!,
      ca: a.trustBundlePem + good.chainPem,
    };
    const asGood = await serve(check, tls, { key: good.privateKeyPem, cert: good.certificatePem + good.chainPem });
    const asRevoked = await serve(check, tls, {
      key: revoked.privateKeyPem,
      cert: revoked.certificatePem + revoked.chainPem,
    });

    // a full handshake, then a resumed one: both accepted, the same certificate seen
    const first = await asGood();
    expect(first).toMatchObject({ status: 200, reused: false });
    expect(await asGood()).toEqual({ status: 200, reused: true, serial: first.serial });

    // revoked after its session was made: refused on the resumed connection; the other one is not
    expect(await asRevoked()).toMatchObject({ status: 200, reused: false });
    if (!isRevokingAuthority(signing)) throw new Error('the bootstrapped signing CA revokes');
    check.setCrl((await signing.revoke({ serialNumber: revoked.serialNumber })).crlPem);
    expect(await asRevoked()).toEqual({ status: 403, reused: true, code: 'CERTLOOP_CHAIN_REVOKED' });
    expect(await asGood()).toMatchObject({ status: 200, reused: true });

    // CA A retired from the check's trust (TLS still trusts it): refused on the resumed connection
    await check.setTrust({ trustBundlePem: b.trustBundlePem });
    expect(await asGood()).toEqual({ status: 403, reused: true, code: 'CERTLOOP_CHAIN_UNTRUSTED' });
    await check.setTrust({ trustBundlePem: bothRoots, intermediatesPem: good.chainPem });
    expect(await asGood()).toMatchObject({ status: 200, reused: true });

    // expired on the check's clock (TLS judges on the real clock, and a resumed handshake judges nothing)
    await clock.advanceTo(good.notAfter.getTime() + 1000);
    expect(await asGood()).toEqual({ status: 403, reused: true, code: 'CERTLOOP_CHAIN_EXPIRED' });
  });
});
