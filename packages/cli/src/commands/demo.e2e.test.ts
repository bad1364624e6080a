/**
 * `certloop demo`, run as a user runs it, shortened to 40 s, on the embedded Kubernetes API emulator with the
 * embedded Vault signing: every promise of the summary is kept and the exit status is 0. In `npm run test:e2e`
 * (real time); demo-files.e2e.test.ts runs it on files, demo.test.ts holds the quick checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_PROMISES as KEPT } from '../testing/demo-promises.js';
import { runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

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
});
