/**
 * `certloop demo`, run as a user runs it, shortened to 40 s: on the embedded Kubernetes API emulator with the
 * embedded Vault signing, and on files with the local CA. Every promise of the summary is kept and the exit status
 * is 0; the file run leaves the relay's secrets in its folder, the bring-your-own one as cert-manager wrote it.
 * In `npm run test:e2e` (real time: 40 s each); demo.test.ts holds the quick checks.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

const KEPT = [
  /elected leader/,
  /killed the leader replica-\d \(SIGKILL\)/,
  /hot-reloaded its certificate/,
  /rotated by renew/,
  /requests failed\s+0/,
  /leader changes\s+[1-9]/,
  /cluster-2 \(bring-your-own\) connected\s+yes/,
  /cluster-2's secret written by certloop\s+0/,
  /survivors stopped cleanly on SIGTERM\s+(\d)\/\1/,
  /replicas ending as the demo meant\s+(\d)\/\1/,
  /replica-\d\s+killed on purpose as the leader \(SIGKILL\)/,
  /every promise kept/,
];

describe('certloop demo', { timeout: 180_000 }, () => {
  it('runs on the embedded Kubernetes API emulator with the embedded Vault signing, and keeps every promise', async () => {
    s = await scratch();
    const demo = await runCertloop(['demo', '--ca', 'vault', '--duration', '40s', '--no-serve'], {
      cwd: s.dir,
      timeoutMs: 120_000,
      spawn: true, // the demo starts its replicas by running its own binary again
    });
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/store: kubernetes gloo-mesh \(API emulator http:\/\/127\.0\.0\.1:\d+\)/);
    expect(demo.stdout).toMatch(/kubectl --kubeconfig \S+ get secrets,leases -n gloo-mesh -w/);
    expect(demo.stdout).toMatch(/signing CA: Vault emulator http:\/\/127\.0\.0\.1:\d+ pki_int\/sign\/relay/);
    expect(demo.stdout).toContain('elected leader (Kubernetes Lease)');
    for (const promise of KEPT) expect(demo.stdout).toMatch(promise);
  });

  it('runs on files with the local CA (--store file --dir), leaving the relay secrets in the folder', async () => {
    s = await scratch();
    const demo = await runCertloop(['demo', '--store', 'file', '--dir', 'run', '--duration', '40s'], {
      cwd: s.dir,
      timeoutMs: 120_000,
      spawn: true, // the demo starts its replicas by running its own binary again
    });
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/status page\s+http:\/\/127\.0\.0\.1:\d+\//);
    for (const promise of KEPT) expect(demo.stdout).toMatch(promise);
    const secrets = await readdir(join(s.dir, 'run', 'secrets'));
    expect(secrets).toEqual(
      expect.arrayContaining([
        'relay-tls-signing-secret',
        'relay-server-tls-secret',
        'relay-client-tls-secret',
        'relay-client-tls-secret-cluster-2',
      ]),
    );
    const byo = JSON.parse(
      await readFile(
        join(s.dir, 'run', 'secrets', 'relay-client-tls-secret-cluster-2', '..data', '..certloop.json'),
        'utf8',
      ),
    );
    expect(byo.annotations['cert-manager.io/certificate-name']).toBe('relay-client-tls-secret-cluster-2');
    expect(byo.annotations['certloop.io/managed-by']).toBeUndefined();
  });
});
