/**
 * The default store (issue 17, item 7): `certloop context set/use/list`, then commands without --dir; the command
 * line and CERTLOOP_DIR win over the context; a context that is not there is CERTLOOP_INVALID_CONFIG (exit 2).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runInProcess } from '../testing/in-process.js';
import { errorCode } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

const HEALTHY = ['--secrets', 'root,signing,server,token', '-o', 'json'];

describe('certloop context', { timeout: 60_000 }, () => {
  it('set, use, then status and rotate without --dir; flags and CERTLOOP_DIR win; list marks the current one', async () => {
    s = await scratch();
    const env = { PATH: process.env.PATH ?? '', CERTLOOP_HOME: join(s.dir, 'home') };
    const run = (args: string[], extra: Record<string, string> = {}) =>
      runInProcess(args, { cwd: s.dir, env: { ...env, ...extra } });
    expect((await run(['init', '--dir', 'secrets'])).code).toBe(0);
    expect((await run(['status', ...HEALTHY])).code).toBe(2); // no store named anywhere yet
    expect((await run(['context', 'set', 'dev', '--dir', 'secrets'])).code).toBe(0);
    expect((await run(['context', 'set', 'empty', '--dir', 'nothing-here'])).code).toBe(0);
    await mkdir(join(s.dir, 'nothing-here'));
    const use = await run(['context', 'use', 'dev']);
    expect(use.stdout).toContain('current context: dev');

    const status = await run(['status', ...HEALTHY]);
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await run(['rotate', 'server'])).code).toBe(0);
    // status advice leaves out the store the context gives
    const advice = await run(['status', '-o', 'json']);
    expect(JSON.parse(advice.stdout).secrets[3].advice.command).toBe(
      'certloop status --secrets root,signing,server,token',
    );

    // another context for one call; the command line and CERTLOOP_DIR over the context
    const other = await run(['status', ...HEALTHY], { CERTLOOP_CONTEXT: 'empty' });
    expect(other.code).toBe(1);
    expect((await run(['status', '--dir', 'secrets', ...HEALTHY], { CERTLOOP_CONTEXT: 'empty' })).code).toBe(0);
    expect((await run(['status', ...HEALTHY], { CERTLOOP_CONTEXT: 'empty', CERTLOOP_DIR: 'secrets' })).code).toBe(0);

    const list = await run(['context', 'list']);
    expect(list.stdout).toMatch(/^\*\s+dev\s+file\s+\S+secrets$/m);
    expect(list.stdout).toMatch(/^\s+empty\s+file\s/m);

    const missing = await run(['status'], { CERTLOOP_CONTEXT: 'prod' });
    expect(missing.code).toBe(2);
    expect(errorCode(missing.stderr)).toBe('CERTLOOP_INVALID_CONFIG');
    expect(missing.stderr).toContain('contexts: dev, empty');
    const unknown = await run(['context', 'use', 'prod']);
    expect(errorCode(unknown.stderr)).toBe('CERTLOOP_NOT_FOUND');
  });
});
