import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CertloopError, isCertloopError } from '../errors.js';
import { rejectionCode } from '../testing/index.js';
import type { WatchEvent } from '../watch/types.js';
import { FileSecretStore } from './file-store.js';
import { exited } from './fixtures/run-child.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

describe('FileSecretStore reads nothing outside a secret directory', () => {
  let root: string;
  let directory: string;
  let outside: string;
  let store: FileSecretStore;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-confined-'));
    directory = join(root, 'secrets');
    // what an attacker would like read: a directory outside the store, with key-named files
    outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'tls.key'), 'OUTSIDE');
    await writeFile(join(outside, 'passwd'), 'OUTSIDE');
    store = new FileSecretStore({ directory, onCorrupt: () => undefined });
  });
  afterEach(async () => {
    await store.close();
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await rm(root, { recursive: true, force: true });
  });

  it('refuses ..data naming a sibling ..<timestamp> that is itself a link to /etc: get, watch and list', async () => {
    await store.put('planted', { data: { 'tls.key': bytes('mine') } });
    const secretDir = join(directory, 'planted');
    await symlink('/etc', join(secretDir, '..2020_01_01_00_00_00.evil'));
    await symlink('..2020_01_01_00_00_00.evil', join(secretDir, '..data_tmp'));
    await rename(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
    expect(await rejectionCode(store.get('planted'))).toBe('CERTLOOP_STORE_CORRUPT');
    const events = store.watch('planted');
    const first = (await events.next()).value as WatchEvent;
    expect(first.type).toBe('error');
    expect(isCertloopError((first as Extract<WatchEvent, { type: 'error' }>).error, 'CERTLOOP_STORE_CORRUPT')).toBe(
      true,
    );
    await events.return?.();
    const reported: CertloopError[] = [];
    expect(await store.list({ onCorrupt: (error) => reported.push(error) })).toEqual([]);
    expect(reported.map((error) => [error.code, error.details?.name])).toEqual([['CERTLOOP_STORE_CORRUPT', 'planted']]);
  });

  it('refuses a key inside the data directory that is a link, even to a file of the same secret', async () => {
    const put = await store.put('linked', { data: { 'tls.crt': bytes('mine') } });
    const dataDir = join(directory, 'linked', put.version);
    await symlink(join(outside, 'tls.key'), join(dataDir, 'tls.key'));
    expect(await rejectionCode(store.get('linked'))).toBe('CERTLOOP_STORE_CORRUPT');
    await rm(join(dataDir, 'tls.key'));
    await symlink('tls.crt', join(dataDir, 'tls.key'));
    expect(await rejectionCode(store.get('linked'))).toBe('CERTLOOP_STORE_CORRUPT');
  });

  it('refuses a pipe in place of a key without hanging on it', async () => {
    const put = await store.put('piped', { data: { 'tls.crt': bytes('mine') } });
    execFileSync('mkfifo', [join(directory, 'piped', put.version, 'tls.key')]);
    expect(await rejectionCode(store.get('piped'))).toBe('CERTLOOP_STORE_CORRUPT');
  });

  it('a key file swapped for a link to outside, over and over, is never read through the link', async () => {
    const put = await store.put('swapped', { data: { 'tls.key': bytes('mine') } });
    const dataDir = join(directory, 'swapped', put.version);
    // the swapper's spare entries sit in a subdirectory (not part of the secret), the swap itself is a rename
    await mkdir(join(dataDir, 'spare'));
    await writeFile(join(dataDir, 'spare', 'real'), 'mine');
    await symlink(join(outside, 'tls.key'), join(dataDir, 'spare', 'evil'));
    // another process swaps the key between the real file and the link as fast as it can
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const d = process.argv[1];
         for (;;) { fs.linkSync(d + '/spare/real', d + '/spare/a'); fs.renameSync(d + '/spare/a', d + '/tls.key');
                    fs.symlinkSync(${JSON.stringify(join(outside, 'tls.key'))}, d + '/spare/b');
                    fs.renameSync(d + '/spare/b', d + '/tls.key'); }`,
        dataDir,
      ],
      { stdio: 'ignore' },
    );
    children.push(swapper);
    let clean = 0;
    let refused = 0;
    for (let i = 0; i < 1_500; i++) {
      try {
        const secret = await store.get('swapped');
        expect(text(secret?.data['tls.key'])).toBe('mine');
        clean++;
      } catch (err) {
        expect(isCertloopError(err, 'CERTLOOP_STORE_CORRUPT')).toBe(true);
        refused++;
      }
    }
    // both sides of the race happened, and no read ever returned the outside file
    expect(clean).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('a secret directory that is itself a link is corrupt unless followSymlinkedSecrets opts in', async () => {
    const mounted = join(root, 'volume', 'web');
    const real = new FileSecretStore({ directory: join(root, 'volume') });
    const put = await real.put('web', { data: { 'tls.crt': bytes('mounted') } });
    await mkdir(directory, { recursive: true });
    await symlink(mounted, join(directory, 'web'));
    expect(await rejectionCode(store.get('web'))).toBe('CERTLOOP_STORE_CORRUPT');
    expect(await rejectionCode(store.put('web', { data: { k: bytes('x') } }))).toBe('CERTLOOP_STORE_CORRUPT');
    expect(await readlink(join(mounted, '..data'))).toBe(put.version);
    const following = new FileSecretStore({ directory, followSymlinkedSecrets: true });
    expect(text((await following.get('web'))?.data['tls.crt'])).toBe('mounted');
    expect((await following.list()).map((secret) => secret.name)).toEqual(['web']);
  });

  it('list returns the readable secrets and reports each unreadable one: to the call, the store, or a warning', async () => {
    await store.put('alpha', { data: { k: bytes('a') } });
    await store.put('charlie', { data: { k: bytes('c') } });
    await mkdir(join(directory, 'bravo'));
    await symlink('../alpha', join(directory, 'bravo', '..data'));
    const reported: string[] = [];
    const listed = await store.list({ onCorrupt: (error) => reported.push(String(error.details?.name)) });
    expect(listed.map((secret) => secret.name)).toEqual(['alpha', 'charlie']);
    expect(reported).toEqual(['bravo']);

    const storeLevel: string[] = [];
    const withHandler = new FileSecretStore({ directory, onCorrupt: (error) => storeLevel.push(error.code) });
    expect((await withHandler.list()).map((secret) => secret.name)).toEqual(['alpha', 'charlie']);
    expect(storeLevel).toEqual(['CERTLOOP_STORE_CORRUPT']);

    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const plain = new FileSecretStore({ directory });
      await plain.list();
      await plain.list();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    // once per distinct problem, not on every call
    expect(warnings.map((warning) => (warning as Error & { code?: string }).code)).toEqual(['CERTLOOP_STORE_CORRUPT']);
  });
});
