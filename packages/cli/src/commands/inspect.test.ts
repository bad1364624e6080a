import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('certloop inspect', { timeout: 120_000 }, () => {
  it('shows a secret: the chain, the key (never its material), and the chain verified against its ca.crt', async () => {
    s = await initialised();
    const r = await runCertloop(['inspect', '--secret', N.server, '--dir', s.store], { cwd: s.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Certificate 1 of 2 (leaf):');
    expect(r.stdout).toContain('Subject: CN=relay-server');
    expect(r.stdout).toContain('DNS:localhost, IP Address:127.0.0.1');
    expect(r.stdout).toContain('TLS Web Server Authentication');
    expect(r.stdout).toMatch(/Fingerprint \(SHA-256\):\n\s+([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(r.stdout).toContain('Matches the certificate: yes');
    expect(r.stdout).toMatch(
      /Chain: verified CN=relay-server <- CN=certloop relay signing CA <- CN=certloop relay root CA/,
    );
    expect(r.stdout).not.toContain('PRIVATE KEY');
  });

  it('reads a file, standard input and DER, and gives JSON', async () => {
    s = await initialised();
    const pki = await createTestPki();
    const leaf = await pki.issue({ commonName: 'svc', dnsNames: ['svc.example'] });
    await writeFile(join(s.dir, 'leaf.pem'), leaf.certificatePem);
    const first = leaf.certificatePem.split('-----END CERTIFICATE-----')[0]!;
    const der = Buffer.from(first.replace(/-----BEGIN CERTIFICATE-----|\s/g, ''), 'base64');
    await writeFile(join(s.dir, 'leaf.der'), der);
    const fromFile = await runCertloop(['inspect', 'leaf.pem', '-o', 'json'], { cwd: s.dir });
    expect(fromFile.code).toBe(0);
    const json = JSON.parse(fromFile.stdout);
    expect(json.certificates[0]).toMatchObject({ subjectText: 'CN=svc', serialNumber: leaf.serialNumber });
    expect(json.certificates[0].sans.dnsNames).toEqual(['svc.example']);
    const fromStdin = await runCertloop(['inspect', '-', '-o', 'json'], { cwd: s.dir, input: leaf.certificatePem });
    expect(JSON.parse(fromStdin.stdout).certificates[0].serialNumber).toBe(leaf.serialNumber);
    const fromDer = await runCertloop(['inspect', 'leaf.der'], { cwd: s.dir });
    expect(fromDer.code).toBe(0);
    expect(fromDer.stdout).toContain('Subject: CN=svc');
  });

  it('checks a chain against --trust: exit 0 when it holds, 1 with the chain code when it does not', async () => {
    s = await initialised();
    const pki = await createTestPki();
    const leaf = await pki.issue({ commonName: 'svc', dnsNames: ['svc.example'], profile: 'client' });
    await writeFile(join(s.dir, 'bundle.pem'), leaf.certificatePem);
    await writeFile(join(s.dir, 'right.pem'), pki.trustBundlePem);
    const ours = await readFile(join(s.store, N.root, 'tls.crt'), 'utf8');
    await writeFile(join(s.dir, 'wrong.pem'), ours);
    const ok = await runCertloop(['inspect', 'bundle.pem', '--trust', 'right.pem', '--usage', 'client'], {
      cwd: s.dir,
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Chain: verified');
    const untrusted = await runCertloop(['inspect', 'bundle.pem', '--trust', 'wrong.pem', '-o', 'json'], {
      cwd: s.dir,
    });
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout).chain).toMatchObject({ verified: false, code: 'CERTLOOP_CHAIN_UNTRUSTED' });
    expect(errorCode(untrusted.stderr)).toBe('CERTLOOP_CHAIN_UNTRUSTED');
    const wrongUse = await runCertloop(['inspect', 'bundle.pem', '--trust', 'right.pem', '--usage', 'server'], {
      cwd: s.dir,
    });
    expect(wrongUse.code).toBe(1);
    expect(errorCode(wrongUse.stderr)).toBe('CERTLOOP_CHAIN_EXT_KEY_USAGE');
  });

  it('shows a CSR with its signature checked, and a key without its material', async () => {
    s = await initialised();
    const made = await runCertloop(
      ['csr', '--cn', 'agent-1', '--dns', 'a.example', '--key-out', 'a.key', '--csr-out', 'a.csr'],
      { cwd: s.dir },
    );
    expect(made.code).toBe(0);
    const csr = await runCertloop(['inspect', 'a.csr'], { cwd: s.dir });
    expect(csr.code).toBe(0);
    expect(csr.stdout).toContain('Certificate Request:');
    expect(csr.stdout).toContain('Subject: CN=agent-1');
    expect(csr.stdout).toContain('DNS:a.example');
    expect(csr.stdout).toContain('Signature: valid');
    const key = await runCertloop(['inspect', 'a.key', '-o', 'json'], { cwd: s.dir });
    expect(key.code).toBe(0);
    const parsed = JSON.parse(key.stdout);
    expect(parsed.key.publicKey).toMatchObject({ type: 'ECDSA', curve: 'P-256' });
    expect(key.stdout).not.toContain('PRIVATE KEY');
  });

  it('says the bootstrap token is there without showing it', async () => {
    s = await initialised();
    const r = await runCertloop(['inspect', '--secret', N.token, '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ source: N.token, token: { length: 43 } });
  });
});
