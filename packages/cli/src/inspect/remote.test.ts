/**
 * `certloop inspect https://host:port` against a real TLS server on loopback (issue 17, item 7): the presented chain,
 * its names checked against the host, validated against a bundle; an unreachable port is CERTLOOP_UNAVAILABLE.
 */

import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runInProcess } from '../testing/in-process.js';
import { errorCode } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
let server: Server | undefined;
afterEach(async () => {
  server?.close();
  server = undefined;
  await s?.remove();
});

async function listen(srv: Server): Promise<number> {
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as { port: number }).port;
}

describe('certloop inspect https://host:port', { timeout: 60_000 }, () => {
  it('shows the presented chain, checks the host name, and validates against --trust', async () => {
    s = await scratch();
    const pki = await createTestPki();
    const leaf = await pki.issue({
      commonName: 'relay-server',
      ipAddresses: ['127.0.0.1'],
      dnsNames: ['localhost'],
      profile: 'server',
    });
    const tlsServer = createTlsServer({ cert: leaf.certificatePem, key: leaf.privateKeyPem }, (socket) => socket.end());
    server = tlsServer;
    const port = await listen(tlsServer);
    await writeFile(join(s.dir, 'ca.crt'), pki.trustBundlePem);

    const shown = await runInProcess(['inspect', `https://127.0.0.1:${port}`, '--trust', 'ca.crt', '-o', 'json'], {
      cwd: s.dir,
    });
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: '' });
    const json = JSON.parse(shown.stdout);
    expect(json.certificates.length).toBeGreaterThanOrEqual(2); // leaf and intermediate, as sent
    expect(json.certificates[0]).toMatchObject({ subjectText: 'CN=relay-server', serialNumber: leaf.serialNumber });
    expect(json.endpoint).toMatchObject({ host: '127.0.0.1', port, namesHost: true });
    expect(json.chain).toMatchObject({ verified: true });

    const text = await runInProcess(['inspect', `https://localhost:${port}`, '--trust', 'ca.crt'], { cwd: s.dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Endpoint: localhost:\d+ TLSv1\.3 .*names localhost/);
    expect(text.stdout).toContain('Chain: verified');
  });

  it('a certificate that does not name the host, or a bundle that does not hold its root: exit 1 with the code', async () => {
    s = await scratch();
    const pki = await createTestPki();
    const other = await createTestPki();
    const leaf = await pki.issue({ commonName: 'elsewhere', dnsNames: ['elsewhere.example'], profile: 'server' });
    const tlsServer = createTlsServer({ cert: leaf.certificatePem, key: leaf.privateKeyPem }, (socket) => socket.end());
    server = tlsServer;
    const port = await listen(tlsServer);
    await writeFile(join(s.dir, 'ca.crt'), pki.trustBundlePem);
    await writeFile(join(s.dir, 'other.crt'), other.trustBundlePem);
    const misnamed = await runInProcess(['inspect', `https://127.0.0.1:${port}`, '--trust', 'ca.crt'], { cwd: s.dir });
    expect(misnamed.code).toBe(1);
    expect(errorCode(misnamed.stderr)).toBe('CERTLOOP_CHAIN_HOSTNAME_MISMATCH');
    const wrongBundle = await runInProcess(
      ['inspect', `https://127.0.0.1:${port}`, '--trust', 'other.crt', '-o', 'json'],
      { cwd: s.dir },
    );
    expect(wrongBundle.code).toBe(1);
    expect(JSON.parse(wrongBundle.stdout).chain).toMatchObject({ verified: false, code: 'CERTLOOP_CHAIN_UNTRUSTED' });
  });

  it('nothing listening: CERTLOOP_UNAVAILABLE (exit 4); not TLS: the same, saying so', async () => {
    s = await scratch();
    const plain = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n').destroySoon());
    server = plain;
    const port = await listen(plain);
    const notTls = await runInProcess(['inspect', `https://127.0.0.1:${port}`], { cwd: s.dir });
    expect(notTls.code).toBe(4);
    expect(errorCode(notTls.stderr)).toBe('CERTLOOP_UNAVAILABLE');
    // a port nothing listens on: one just given back by a server that never took a connection
    const spare = createServer();
    const free = await listen(spare);
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const closed = await runInProcess(['inspect', `https://127.0.0.1:${free}`], { cwd: s.dir });
    expect(closed.code).toBe(4);
    expect(closed.stderr).toMatch(/no TLS handshake with 127\.0\.0\.1:\d+/);
  });
});
