/**
 * Test support: the chain a relay server serves in a real TLS handshake, checked by `openssl verify` against a
 * trust bundle (as a peer holding that bundle would check it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { expect } from 'vitest';

function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(`${file} is missing: install it (apt-get install -y openssl)`));
        return;
      }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, out: stdout + stderr });
    });
  });
}

/** The chain the server serves in a real handshake, checked by `openssl verify` against `bundlePem`. */
export async function verifyServedChain(address: string, bundlePem: string): Promise<{ code: number; out: string }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const chain = await new Promise<string[]>((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    socket.once('secureConnect', () => {
      const pems: string[] = [];
      let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
      const seen = new Set<string>();
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        pems.push(
          `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`.replace(
            '\n\n',
            '\n',
          ),
        );
        cert = cert.issuerCertificate;
      }
      socket.destroy();
      resolve(pems);
    });
    socket.once('error', reject);
  });
  const dir = await mkdtemp(join(tmpdir(), 'certloop-served-'));
  try {
    await writeFile(join(dir, 'leaf.pem'), chain[0]!);
    await writeFile(join(dir, 'chain.pem'), chain.slice(1).join('') || chain[0]!);
    await writeFile(join(dir, 'bundle.pem'), bundlePem);
    return await run('openssl', [
      'verify',
      '-CAfile',
      join(dir, 'bundle.pem'),
      '-untrusted',
      join(dir, 'chain.pem'),
      join(dir, 'leaf.pem'),
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function expectServedChainVerifies(r: { readonly address: string }, bundlePem: string): Promise<void> {
  const result = await verifyServedChain(r.address, bundlePem);
  expect(result.out).toContain(': OK');
  expect(result.code).toBe(0);
}
