import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../x509/keys.js';
import type { KeyAlgorithm, KeyPair } from '../x509/types.js';
import {
  createTestPki,
  type IssuedLeaf,
  issueLeaf,
  openssl,
  type TempDir,
  type TestPki,
  tempDir,
} from './test-support.js';

const ALGORITHMS: readonly KeyAlgorithm[] = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096', 'Ed25519'];

interface Handshake {
  readonly serverAuthorized: boolean;
  readonly clientAuthorized: boolean;
  readonly reply: string;
  readonly protocol: string | null;
}

/** A TLS 1.3 mTLS server on loopback; `connect` resolves when the client reads the server's greeting. */
async function mtlsServer(server: IssuedLeaf, trustPem: string) {
  let clientErrors = 0;
  const tlsServer = tls.createServer(
    {
      key: server.privateKeyPem,
      cert: server.certificatePem + server.chainPem,
      ca: trustPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      socket.end(`hello ${peer.subject?.CN ?? '?'}`);
    },
  );
  tlsServer.on('tlsClientError', () => {
    clientErrors++;
  });
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  const { port } = tlsServer.address() as AddressInfo;
  const connect = (client: IssuedLeaf): Promise<Handshake> =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        key: client.privateKeyPem,
        cert: client.certificatePem + client.chainPem,
        ca: trustPem,
        minVersion: 'TLSv1.3',
      });
      let reply = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        reply += chunk;
      });
      socket.on('error', reject);
      socket.on('end', () =>
        resolve({
          serverAuthorized: socket.authorized,
          clientAuthorized: reply.startsWith('hello '),
          reply,
          protocol: socket.getProtocol(),
        }),
      );
    });
  return {
    connect,
    clientErrors: () => clientErrors,
    close: () => new Promise<void>((resolve) => tlsServer.close(() => resolve())),
  };
}

let dir: TempDir;
let foreign: { pki: TestPki; client: IssuedLeaf };
/** Four keys per algorithm (root, intermediate, server, client), generated together up front. */
const keys = new Map<KeyAlgorithm, KeyPair[]>();

beforeAll(async () => {
  dir = await tempDir();
  // RSA generation runs on the thread pool: starting it all at once uses both cores.
  const generated = await Promise.all(
    ALGORITHMS.map((algorithm) => Promise.all([0, 1, 2, 3].map(() => generateKeyPair({ algorithm })))),
  );
  for (const [i, algorithm] of ALGORITHMS.entries()) keys.set(algorithm, generated[i]!);
  const pki = await createTestPki('ECDSA-P256');
  const client = await issueLeaf(pki.intermediateCa, {
    algorithm: 'ECDSA-P256',
    commonName: 'intruder',
    profile: 'client',
  });
  foreign = { pki, client };
  // pure CPU (RSA keys): on a loaded 2-core machine it can take longer than the default hook timeout
}, 120_000);

afterAll(async () => {
  await dir.remove();
});

describe.each(ALGORITHMS)('issuance with %s keys', (algorithm) => {
  let pki: TestPki;
  let server: IssuedLeaf;
  let client: IssuedLeaf;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    const [rootKey, interKey, serverKey, clientKey] = keys.get(algorithm)!;
    pki = await createTestPki(algorithm, { keys: [rootKey!, interKey!] });
    [server, client] = await Promise.all([
      issueLeaf(pki.intermediateCa, {
        algorithm,
        key: serverKey,
        commonName: 'relay-server',
        profile: 'server',
        dnsNames: ['localhost', 'relay.example.test'],
        ipAddresses: ['127.0.0.1', '::1'],
      }),
      issueLeaf(pki.intermediateCa, {
        algorithm,
        key: clientKey,
        commonName: 'agent-1',
        profile: 'client',
        uris: ['spiffe://certloop.test/agent/agent-1'],
      }),
    ]);
    files.root = await dir.write(`${algorithm}-root.pem`, pki.rootPem);
    files.inter = await dir.write(`${algorithm}-inter.pem`, pki.intermediate.certificatePem);
    files.server = await dir.write(`${algorithm}-server.pem`, server.certificatePem);
    files.client = await dir.write(`${algorithm}-client.pem`, client.certificatePem);
    files.csr = await dir.write(`${algorithm}-server.csr`, server.csrPem);
    files.key = await dir.write(`${algorithm}-server.key`, server.privateKeyPem);
  });

  it('passes openssl verify -x509_strict from root through intermediate to each leaf', async () => {
    for (const leaf of [files.server!, files.client!]) {
      const result = await openssl([
        'verify',
        '-x509_strict',
        '-CAfile',
        files.root!,
        '-untrusted',
        files.inter!,
        leaf,
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(`${leaf}: OK`);
    }
    const inter = await openssl(['verify', '-x509_strict', '-CAfile', files.root!, files.inter!]);
    expect(inter.code).toBe(0);
  });

  it('writes CSRs and keys openssl accepts', async () => {
    const csr = await openssl(['req', '-verify', '-noout', '-in', files.csr!]);
    expect(csr.code).toBe(0);
    expect(csr.stdout + csr.stderr).toMatch(/verify OK/);
    const key = await openssl(['pkey', '-in', files.key!, '-noout']);
    expect(key.code).toBe(0);
  });

  it('gives certificates that node:crypto parses with the right names and signatures', () => {
    const root = new X509Certificate(pki.rootPem);
    const inter = new X509Certificate(pki.intermediate.certificatePem);
    const leaf = new X509Certificate(server.certificatePem);
    const agent = new X509Certificate(client.certificatePem);
    expect(root.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(inter.ca).toBe(true);
    expect(inter.issuer).toBe(root.subject);
    expect(inter.verify(root.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.subject).toBe('CN=relay-server');
    expect(leaf.issuer).toBe(inter.subject);
    expect(leaf.subjectAltName).toBe(
      'DNS:localhost, DNS:relay.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(leaf.verify(inter.publicKey)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(false);
    expect(leaf.checkIssued(inter)).toBe(true);
    expect(agent.subjectAltName).toBe('URI:spiffe://certloop.test/agent/agent-1');
    expect(agent.verify(inter.publicKey)).toBe(true);
    expect(server.chainPem).toBe(pki.intermediate.certificatePem);
    expect(server.trustBundlePem).toBe(pki.rootPem);
  });

  it('completes a TLS 1.3 mTLS handshake between its server and client certificates, refusing another CA', async () => {
    const mtls = await mtlsServer(server, pki.rootPem);
    try {
      const ok = await mtls.connect(client);
      expect(ok).toEqual({
        serverAuthorized: true,
        clientAuthorized: true,
        reply: 'hello agent-1',
        protocol: 'TLSv1.3',
      });
      // TLS 1.3 clients finish before the server judges their certificate: the refusal shows as a closed or reset
      // connection without the server's greeting, and as a tlsClientError on the server.
      const refused = await mtls.connect(foreign.client).catch((err: Error) => err);
      if (refused instanceof Error) expect(refused.message).toMatch(/ECONNRESET|alert|unknown ca/i);
      else expect(refused).toMatchObject({ clientAuthorized: false, reply: '' });
      expect(mtls.clientErrors()).toBe(1);
    } finally {
      await mtls.close();
    }
  });
});
