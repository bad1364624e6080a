/**
 * `certloop demo`, run as a user runs it: with the embedded Vault emulator signing, on files in a folder the test
 * owns, shortened to 40 s. Every promise of the summary is kept and the exit status is 0; the folder holds the
 * relay's secrets afterwards, the bring-your-own one as cert-manager wrote it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('certloop demo', { timeout: 180_000 }, () => {
  it('runs the relay lifecycle with Vault signing and keeps every promise', async () => {
    s = await scratch();
    const demo = await runCertloop(['demo', '--ca', 'vault', '--dir', 'run', '--duration', '40s', '--no-serve'], {
      cwd: s.dir,
      timeoutMs: 120_000,
    });
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/signing CA: Vault emulator http:\/\/127\.0\.0\.1:\d+ pki_int\/sign\/relay/);
    expect(demo.stdout).toMatch(/elected leader/);
    expect(demo.stdout).toMatch(/killed the leader replica-\d \(SIGKILL\)/);
    expect(demo.stdout).toMatch(/hot-reloaded its certificate/);
    expect(demo.stdout).toMatch(/rotated by renew/);
    expect(demo.stdout).toMatch(/requests failed\s+0/);
    expect(demo.stdout).toMatch(/leader changes\s+[1-9]/);
    expect(demo.stdout).toMatch(/cluster-2 \(bring-your-own\) connected\s+yes/);
    expect(demo.stdout).toMatch(/replicas stopped cleanly on SIGTERM\s+(\d)\/\1/);
    expect(demo.stdout).toContain('every promise kept');
    const secrets = await readdir(join(s.dir, 'run', 'secrets'));
    expect(secrets).toEqual(
      expect.arrayContaining([
        'relay-server-tls-secret',
        'relay-client-tls-secret',
        'relay-client-tls-secret-cluster-2',
      ]),
    );
    // Vault keeps the signing key: no signing secret in the store
    expect(secrets).not.toContain('relay-tls-signing-secret');
    const byo = JSON.parse(
      await readFile(
        join(s.dir, 'run', 'secrets', 'relay-client-tls-secret-cluster-2', '..data', '..certloop.json'),
        'utf8',
      ),
    );
    expect(byo.annotations['cert-manager.io/certificate-name']).toBe('relay-client-tls-secret-cluster-2');
  });

  it('refuses a duration too short to rotate, and --store kubernetes while it is not in this build', async () => {
    s = await scratch();
    const short = await runCertloop(['demo', '--duration', '5s'], { cwd: s.dir });
    expect(errorCode(short.stderr)).toBe('CERTLOOP_USAGE');
    expect(short.code).toBe(2);
    const k8s = await runCertloop(['demo', '--store', 'kubernetes'], { cwd: s.dir });
    expect(errorCode(k8s.stderr)).toBe('CERTLOOP_NOT_IMPLEMENTED');
    expect(k8s.code).toBe(6);
    expect(await readdir(s.dir)).toEqual([]);
  });
});
