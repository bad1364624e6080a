/**
 * `certloop server --renew-server-certificate RATIO`: a ratio outside (0, 1) is a usage error (exit 2) before anything
 * starts. (The renewal itself: agent-rotator's server-renewal.test.ts, over real TLS.)
 */
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../testing/in-process.js';
import { errorCode } from '../testing/spawn.js';

describe('certloop server --renew-server-certificate', () => {
  it('refuses a ratio outside (0, 1) with exit status 2', async () => {
    for (const ratio of ['0', '1.5', 'soon']) {
      const r = await runInProcess(['server', '--dir', '/nonexistent', '--renew-server-certificate', ratio]);
      expect(r.code).toBe(2);
      expect(errorCode(r.stderr)).toBe('CERTLOOP_USAGE');
    }
  });
});
