import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

// A real read-only filesystem: a tmpfs mounted and remounted read-only inside a private user and mount
// namespace (`unshare -rm`, util-linux), so no privilege is needed and nothing stays mounted afterwards.
describe('FileSecretStore on a filesystem that goes read-only', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-read-only-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports CERTLOOP_READ_ONLY (not CERTLOOP_STORE_IO), keeps reads working, and knows its own lock file afterwards', async () => {
    const { stdout } = await promisify(execFile)(
      'unshare',
      ['-rm', process.execPath, '--conditions=source', '--import', 'tsx', join(fixtures, 'read-only.ts'), root],
      { cwd: fixtures, timeout: 30_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({
      releaseCode: 'CERTLOOP_READ_ONLY',
      putCode: 'CERTLOOP_READ_ONLY',
      casCode: 'CERTLOOP_READ_ONLY',
      deleteCode: 'CERTLOOP_READ_ONLY',
      readBack: '1',
      afterCode: 'ok',
      final: '3',
    });
    // at once, not after the 3 s lock timeout nor the 30 s stale bound
    expect(result.afterMs).toBeLessThan(2_000);
  }, 40_000);
});
