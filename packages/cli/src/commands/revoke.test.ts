/**
 * `certloop revoke`: the store's signing CA revokes a serial it issued and publishes a CRL that openssl uses to
 * refuse the certificate; revoking again changes nothing; `--ca vault` and bad serials are refused.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());
const openssl = (args: string[], cwd: string) => promisify(execFile)('/usr/bin/openssl', args, { cwd });

describe('certloop revoke', { timeout: 120_000 }, () => {
  it('revokes a serial and publishes a CRL openssl refuses the certificate with; twice changes nothing', async () => {
    s = await initialised();
    const issued = await runCertloop(
      ['issue', '--dir', s.store, '--cn', 'agent-9', '--dns', 'agent-9', '--profile', 'client'].concat([
        '--key-out',
        'a.key',
        '--cert-out',
        'a.crt',
        '--ca-out',
        'ca.crt',
      ]),
      { cwd: s.dir },
    );
    expect(issued.code).toBe(0);
    const serial = (await openssl(['x509', '-in', 'a.crt', '-noout', '-serial'], s.dir)).stdout.trim().split('=')[1]!;
    const revoked = await runCertloop(
      ['revoke', serial, '--dir', s.store, '--reason', 'keyCompromise', '--crl-out', 'ca.crl', '-o', 'json'],
      { cwd: s.dir },
    );
    expect(revoked.stderr).toBe('');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ alreadyRevoked: false, crlNumber: 1 });
    const text = await openssl(['crl', '-in', 'ca.crl', '-noout', '-text'], s.dir);
    expect(text.stdout.replace(/:/g, '')).toContain(serial.toUpperCase());
    const verify = await openssl(
      ['verify', '-crl_check', '-CRLfile', 'ca.crl', '-CAfile', 'ca.crt', '-untrusted', 'a.crt', 'a.crt'],
      s.dir,
    ).catch((err: { stdout: string; stderr: string }) => err);
    expect(`${verify.stdout}${verify.stderr}`).toContain('certificate revoked');

    const again = await runCertloop(['revoke', serial, '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyRevoked: true, crlNumber: 1 });
  });

  it('refuses --ca vault (revoke in Vault) and a serial that is not hex', async () => {
    s = await initialised();
    const vault = await runCertloop(['revoke', 'abcd', '--dir', s.store, '--ca', 'vault'], { cwd: s.dir });
    expect(errorCode(vault.stderr)).toBe('CERTLOOP_READ_ONLY');
    expect(vault.code).toBe(5);
    const bad = await runCertloop(['revoke', 'not-a-serial', '--dir', s.store], { cwd: s.dir });
    expect(errorCode(bad.stderr)).toBe('CERTLOOP_USAGE');
    expect(bad.code).toBe(2);
  });
});
