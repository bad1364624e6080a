/**
 * `npx certloop` in a clone, right after `npm ci`: `npm ci` links the workspace's `bin` (bin/certloop.js, the
 * launcher) into node_modules/.bin, and the launcher runs the sources under tsx when nothing is built (forced here
 * with CERTLOOP_FROM_SOURCE=1, as a clone without dist/ would), the build otherwise. The published package's `bin` is
 * the built file (publishConfig.bin; the packaging e2e test installs the packed tarball and runs it).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LINK = `${ROOT}node_modules/.bin/certloop`;

describe('the clone launcher (packages/cli/bin/certloop.js)', { timeout: 60_000 }, () => {
  it('is the workspace bin, linked by npm ci, executable, and published as dist/bin.js', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(manifest.bin.certloop).toBe('./bin/certloop.js');
    expect(manifest.publishConfig.bin.certloop).toBe('./dist/bin.js');
    expect(existsSync(LINK)).toBe(true);
    expect(statSync(LINK).mode & 0o111).not.toBe(0);
  });

  it('runs the sources with no build: `npx certloop --help` answers with the usage, exit 0', async () => {
    const { stdout } = await run(LINK, ['--help'], {
      cwd: ROOT,
      env: { ...process.env, CERTLOOP_FROM_SOURCE: '1', NO_COLOR: '1' },
    });
    expect(stdout).toMatch(/^Usage: certloop /);
    expect(stdout).toContain('status');
  });

  it('passes the exit status through (bad flag: 2)', async () => {
    const failed = await run(LINK, ['status', '--no-such-flag'], {
      cwd: ROOT,
      env: { ...process.env, CERTLOOP_FROM_SOURCE: '1' },
    }).catch((err: { code: number; stderr: string }) => err);
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toMatch(/^certloop: CERTLOOP_USAGE:/m);
  });
});
