/**
 * `certloop demo --store file`, run as a user runs it, shortened to 40 s, with the local CA: every promise kept, exit
 * status 0, the relay's secrets left in its folder, the bring-your-own one as cert-manager wrote it. In
 * `npm run test:e2e` (real time; a file of its own so it runs beside demo.e2e.test.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_PROMISES as KEPT } from '../testing/demo-promises.js';
import { runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('certloop demo on files', { timeout: 180_000 }, () => {
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
