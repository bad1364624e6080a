/**
 * `certloop demo`: the quick checks (the 40 s runs are in demo.e2e.test.ts, run by `npm run test:e2e`).
 */
import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('certloop demo', () => {
  it('refuses a duration too short to rotate before doing anything', async () => {
    s = await scratch();
    const short = await runCertloop(['demo', '--duration', '5s'], { cwd: s.dir });
    expect(errorCode(short.stderr)).toBe('CERTLOOP_USAGE');
    expect(short.code).toBe(2);
    expect(await readdir(s.dir)).toEqual([]);
  });
});
