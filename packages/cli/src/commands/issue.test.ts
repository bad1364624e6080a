import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

const openssl = (args: string[], cwd: string) => promisify(execFile)('/usr/bin/openssl', args, { cwd });
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('certloop csr, sign, issue', { timeout: 120_000 }, () => {
  it('makes a key and CSR (0600) that openssl accepts, and signs it into a chain openssl verifies', async () => {
    s = await initialised();
    const csr = await runCertloop(
      ['csr', '--cn', 'agent-1', '--dns', 'agent-1.cluster-a', '--key-out', 'a.key', '--csr-out', 'a.csr'],
      { cwd: s.dir },
    );
    expect(csr.code).toBe(0);
    expect(await mode(join(s.dir, 'a.key'))).toBe(0o600);
    expect(await mode(join(s.dir, 'a.csr'))).toBe(0o600);
    expect((await openssl(['req', '-in', 'a.csr', '-noout', '-verify'], s.dir)).stderr).toContain('verify OK');

    const signed = await runCertloop(
      [
        'sign',
        'a.csr',
        '--dir',
        s.store,
        '--profile',
        'client',
        '--lifetime',
        '30d',
        '--cert-out',
        'a.crt',
        '--ca-out',
        'ca.crt',
      ],
      { cwd: s.dir },
    );
    expect(signed.code).toBe(0);
    expect(await mode(join(s.dir, 'a.crt'))).toBe(0o600);
    const verified = await openssl(
      ['verify', '-purpose', 'sslclient', '-CAfile', 'ca.crt', '-untrusted', 'a.crt', 'a.crt'],
      s.dir,
    );
    expect(verified.stdout).toContain('a.crt: OK');
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(await readFile(join(s.dir, 'a.crt')));
    expect(cert.subject).toBe('CN=agent-1');
    expect((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000).toBeCloseTo(30, 1);
  });

  it('signs a CSR piped from certloop csr on standard input', async () => {
    s = await initialised();
    await runCertloop(['csr', '--cn', 'svc', '--key-out', 'svc.key', '--csr-out', 'svc.csr'], { cwd: s.dir });
    const input = await readFile(join(s.dir, 'svc.csr'), 'utf8');
    const r = await runCertloop(['sign', '-', '--dir', s.store, '--profile', 'server'], { cwd: s.dir, input });
    expect(r.code).toBe(0);
    expect(r.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(2); // leaf then the intermediate
  });

  it('issues a key and certificate in one step; the CA policy refuses too long a lifetime and nothing is written', async () => {
    s = await initialised();
    const ok = await runCertloop(
      [
        'issue',
        '--dir',
        s.store,
        '--cn',
        'relay-server',
        '--dns',
        'relay.example',
        '--cert-out',
        's.crt',
        '--key-out',
        's.key',
        '--ca-out',
        'ca.crt',
        '-o',
        'json',
      ],
      { cwd: s.dir },
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ subject: 'CN=relay-server', issuer: 'CN=certloop relay signing CA' });
    for (const f of ['s.crt', 's.key', 'ca.crt']) expect(await mode(join(s.dir, f))).toBe(0o600);
    const verified = await openssl(
      ['verify', '-purpose', 'sslserver', '-CAfile', 'ca.crt', '-untrusted', 's.crt', 's.crt'],
      s.dir,
    );
    expect(verified.stdout).toContain('OK');
    const keyMatch = await runCertloop(['inspect', '-'], {
      cwd: s.dir,
      input: (await readFile(join(s.dir, 's.crt'), 'utf8')) + (await readFile(join(s.dir, 's.key'), 'utf8')),
    });
    expect(keyMatch.stdout).toContain('Matches the certificate: yes');

    const refused = await runCertloop(
      ['issue', '--dir', s.store, '--cn', 'x', '--lifetime', '2y', '--cert-out', 'x.crt', '--key-out', 'x.key'],
      { cwd: s.dir },
    );
    expect(refused.code).toBe(5);
    expect(errorCode(refused.stderr)).toBe('CERTLOOP_POLICY_LIFETIME_EXCEEDED');
    await expect(stat(join(s.dir, 'x.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to sign when the store has no signing CA', async () => {
    s = await initialised();
    const { rm } = await import('node:fs/promises');
    await rm(join(s.store, N.signing), { recursive: true });
    await runCertloop(['csr', '--cn', 'svc', '--key-out', 'k', '--csr-out', 'c'], { cwd: s.dir });
    const r = await runCertloop(['sign', 'c', '--dir', s.store], { cwd: s.dir });
    expect(r.code).toBe(5);
    expect(errorCode(r.stderr)).toBe('CERTLOOP_NOT_FOUND');
  });
});
