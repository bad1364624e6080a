/**
 * `certloop demo` in real time (a minute): the root CA is rotated midway (prepare, converge, activate, drain,
 * retire) with the three replicas of cluster-1 and the bring-your-own cluster-2 connected, and the summary counts 0
 * failed requests (heartbeats, reconnections), 0 failed renewals and 0 refused calls. Run by `npm run test:e2e`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('certloop demo: the root rotation', { timeout: 240_000 }, () => {
  it('rotates the root with every agent connected and 0 failures', async () => {
    s = await scratch();
    const demo = await runCertloop(['demo', '--no-serve'], {
      cwd: s.dir,
      timeoutMs: 200_000,
      spawn: true, // the demo starts its replicas by running its own binary again
    });
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    for (const line of [
      /ca rotation\s+prepare: new root B/,
      /ca rotation\s+converge: (\d+)\/\1 consumers hold \{A,B\}/,
      /ca rotation\s+activate: B signs/,
      /ca rotation\s+drain: 0 leaves still under A/,
      /ca rotation\s+retire: every ca\.crt holds \{B\} only/,
      /root rotated \(prepare\.\.retire\)\s+prepare, converge, activate, drain, retire/,
      /requests failed\s+0\n/,
      /renewals failed\s+0\n/,
      /calls refused by the server\s+0\n/,
      /cluster-2 \(bring-your-own\) connected\s+yes/,
      /every promise kept/,
    ]) {
      expect(demo.stdout).toMatch(line);
    }
  });
});
