/**
 * Bench child (relay fleet): the bound. A bare `node:http2` TLS server doing the minimal work of one agent, with
 * `node:crypto` only, in its own process: it asks for a client certificate without requiring one (as the relay
 * does), so `POST /bootstrap` runs over server-authenticated TLS (a constant-time token compare) and `POST /renew`
 * and the held `POST /connect` stream over mutual TLS (`socket.authorized`). Each CSR is verified and a signature
 * made: the CSR's DER is split (three TLVs), its public key imported (SPKI DER), its signature verified, and the CA
 * key signs a buffer the size of a client certificate's TBSCertificate. The answer is a certificate from a pool
 * issued before the clock starts (keys and certificates the agents then present: X.509 encoding is not part of the
 * bound). Streams stay open until the parent says `stop`.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, timingSafeEqual, verify } from 'node:crypto';
import { createSecureServer, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { bootstrapRelayPki, MemorySecretStore, pemDecode, readTlsMaterial } from '@certloop/core';
import { parseDer, readNode } from '../packages/core/src/x509/der.js';

const TOKEN = Buffer.from('bench-relay-fleet-token-0123456789');
const store = new MemorySecretStore();
const pki = await bootstrapRelayPki({ store, token: TOKEN.toString() });
const server = readTlsMaterial((await store.get(pki.names.server))!);
const signing = readTlsMaterial((await store.get(pki.names.signing))!);
const root = readTlsMaterial((await store.get(pki.names.root))!);
const caKey = createPrivateKey(signing.privateKeyPem!);
const TBS_BYTES = 420;

// the pool the agents present (issued now, before the clock starts)
const pool: Array<{ keyPem: string; certPem: string }> = [];
for (let i = 0; i < 16; i++) {
  const issued = await pki.signingCa.issue({
    commonName: `pool-${i}`,
    dnsNames: [`pool-${i}`],
    profile: 'client',
    lifetimeSeconds: 86_400,
  });
  pool.push({ keyPem: issued.privateKeyPem, certPem: issued.certificatePem + issued.chainPem });
}

/** The minimal CSR work: split the DER, import the key, verify, sign a TBS-sized buffer. */
function verifyAndSign(csrPem: string): void {
  const der = pemDecode(csrPem).der;
  const outer = parseDer(der);
  const info = readNode(der, outer.contentStart, outer.end);
  const algorithm = readNode(der, info.end, outer.end);
  const signature = readNode(der, algorithm.end, outer.end);
  // certificationRequestInfo: version, subject, subjectPKInfo
  const version = readNode(der, info.contentStart, info.end);
  const subject = readNode(der, version.end, info.end);
  const spki = readNode(der, subject.end, info.end);
  const key = createPublicKey({ key: Buffer.from(der.subarray(spki.start, spki.end)), format: 'der', type: 'spki' });
  const sig = der.subarray(signature.contentStart + 1, signature.end);
  if (!verify('sha256', der.subarray(info.start, info.end), key, sig)) throw new Error('CSR signature invalid');
  sign('sha256', randomBytes(TBS_BYTES), caKey);
}

const open = new Set<ServerHttp2Stream>();
const http2 = createSecureServer({
  key: server.privateKeyPem,
  cert: server.certificatePem,
  ca: root.trustBundlePem ?? root.certificatePem,
  requestCert: true,
  rejectUnauthorized: false,
  minVersion: 'TLSv1.2',
});
let poolIndex = 0;
let renewals = 0;
http2.on('stream', (stream, headers) => {
  const path = headers[':path'];
  const socket = stream.session?.socket as TLSSocket | undefined;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('error', () => undefined);
  if (path === '/connect') {
    if (!socket?.authorized) return void stream.respond({ ':status': 401 }, { endStream: true });
    stream.respond({ ':status': 200 });
    stream.write('welcome\n');
    open.add(stream);
    stream.on('close', () => open.delete(stream));
    return;
  }
  stream.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { token?: string; csrPem: string };
      if (path === '/bootstrap') {
        const token = Buffer.from(body.token ?? '');
        if (token.length !== TOKEN.length || !timingSafeEqual(token, TOKEN)) throw new Error('token');
      } else if (path !== '/renew' || !socket?.authorized) {
        throw new Error('unauthenticated');
      }
      verifyAndSign(body.csrPem);
      if (path === '/renew') renewals++;
      const cert = pool[poolIndex++ % pool.length]!;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify(cert));
    } catch {
      stream.respond({ ':status': 403 }, { endStream: true });
    }
  });
});
await new Promise<void>((resolve) => http2.listen(0, '127.0.0.1', resolve));
const port = (http2.address() as { port: number }).port;
const baselineRss = process.memoryUsage.rss();
process.send?.({
  kind: 'ready',
  address: `127.0.0.1:${port}`,
  token: TOKEN.toString(),
  trustBundlePem: root.trustBundlePem ?? root.certificatePem,
  baselineRss,
  cpu: process.cpuUsage(),
});
process.on('message', (m: { kind: string }) => {
  if (m.kind === 'sample') {
    // retained memory: collect garbage first (the children run with --expose-gc)
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({
      kind: 'sample',
      connected: open.size,
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
      renewals,
      perReplica: [[open.size, renewals, process.pid, (process.cpuUsage().user + process.cpuUsage().system) / 1000]],
      refused: {},
    });
    return;
  }
  if (m.kind !== 'stop') return;
  const peakRss = Math.max(process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
  process.send?.({ kind: 'stopped', peakRss, baselineRss, cpu: process.cpuUsage(), metrics: { issued: 0 } }, () => {
    for (const s of open) s.close();
    http2.close();
    process.exit(0);
  });
});
