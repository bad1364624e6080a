/**
 * `certloop server --renew-server-certificate RATIO`: a ratio outside (0, 1) is a usage error (exit 2) before anything
 * starts. (The renewal itself: agent-rotator's server-renewal.test.ts, over real TLS.) `--call-rate` / `--call-burst`
 * (the per-address call limit): a value that is not a limit is a usage error too. (The limit itself: agent-rotator's
 * rate-limit tests.)
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

describe('certloop server --call-rate / --call-burst', () => {
  it('refuses a rate or burst that is not a limit with exit status 2', async () => {
    for (const flags of [
      ['--call-rate', '-1'],
      ['--call-rate', 'fast'],
      ['--call-burst', '0'],
      ['--call-burst', 'x'],
    ]) {
      const r = await runInProcess(['server', '--dir', '/nonexistent', ...flags]);
      expect(r.code).toBe(2);
      expect(errorCode(r.stderr)).toBe('CERTLOOP_USAGE');
    }
  });
});
