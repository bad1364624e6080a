import {
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { type FsStep, setFsFaultInjector } from '../lib/fs-seam.js';
import { rejectionCode } from '../testing/index.js';
import { FileSecretStore } from './file-store.js';
import { kubeletWrite } from './fixtures/kubelet-write.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('FileSecretStore on disk', () => {
  let root: string;
  let directory: string;
  let store: FileSecretStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-file-layout-'));
    directory = join(root, 'secrets');
    store = new FileSecretStore({ directory, clock: new ManualClock('2026-03-04T05:06:07Z') });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the kubelet layout: timestamped data directory, ..data link, key links, modes 0700/0600', async () => {
    const put = await store.put('web', {
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': bytes('C'), 'tls.key': bytes('K') },
    });
    const secretDir = join(directory, 'web');
    // kubelet-style name; after the timestamp: the writer (host tag, pid, start time), then 6 random characters
    expect(put.version).toMatch(/^\.\.2026_03_04_05_06_07\.[0-9a-f]{8}-\d+-\d*-[A-Za-z0-9]{6}$/);
    expect(await readlink(join(secretDir, '..data'))).toBe(put.version);
    expect((await readdir(secretDir)).sort()).toEqual(['..data', put.version, 'tls.crt', 'tls.key'].sort());
    for (const key of ['tls.crt', 'tls.key']) {
      expect((await lstat(join(secretDir, key))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(secretDir, key))).toBe(`..data/${key}`);
      expect(await mode(join(secretDir, put.version, key))).toBe(0o600);
    }
    // a consumer reading the mounted path sees the value, as in a pod
    expect(await readFile(join(secretDir, 'tls.key'), 'utf8')).toBe('K');
    expect(await mode(join(secretDir, put.version, '..certloop.json'))).toBe(0o600);
    for (const dir of [directory, secretDir, join(secretDir, put.version)]) expect(await mode(dir)).toBe(0o700);
  });

  it('a rewrite swaps ..data, adds and removes key links and removes the old data directory', async () => {
    await store.put('web', { data: { 'tls.crt': bytes('1'), 'tls.key': bytes('1') } });
    const second = await store.put('web', { data: { 'tls.crt': bytes('2'), 'ca.crt': bytes('2') } });
    const secretDir = join(directory, 'web');
    expect((await readdir(secretDir)).sort()).toEqual(['..data', second.version, 'ca.crt', 'tls.crt'].sort());
    expect(await readFile(join(secretDir, 'ca.crt'), 'utf8')).toBe('2');
  });

  it('reads a directory made by hand the kubelet way, follows a hand-made ..data swap, and can take it over', async () => {
    const secretDir = join(directory, 'mounted');
    const first = await kubeletWrite(secretDir, '2026_01_01_00_00_00', { 'tls.crt': 'one', token: 'abc' });
    const got = await store.get('mounted');
    expect(got).toMatchObject({ name: 'mounted', type: 'Opaque', labels: {}, annotations: {}, version: first });
    expect(text(got?.data.token)).toBe('abc');
    const second = await kubeletWrite(secretDir, '2026_01_01_00_01_00', { 'tls.crt': 'two' });
    expect((await store.get('mounted'))?.version).toBe(second);
    expect(Object.keys((await store.get('mounted'))!.data)).toEqual(['tls.crt']);
    const ours = await store.put('mounted', { data: { 'tls.crt': bytes('three') } }, { expectedVersion: second });
    expect((await readdir(secretDir)).sort()).toEqual(['..data', ours.version, 'tls.crt'].sort());
    expect((await store.list()).map((secret) => secret.name)).toEqual(['mounted']);
  });

  it('reads a first write that never committed as missing, and the next write tidies it', async () => {
    const secretDir = join(directory, 'half');
    await mkdir(join(secretDir, '..2026_01_01_00_00_00.abcdef'), { recursive: true });
    await writeFile(join(secretDir, '..2026_01_01_00_00_00.abcdef', 'k'), 'orphan');
    await symlink('..2026_01_01_00_00_00.abcdef', join(secretDir, '..data_tmp'));
    expect(await store.get('half')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    const put = await store.put('half', { data: { k: bytes('v') } }, { expectedVersion: null });
    expect((await readdir(secretDir)).sort()).toEqual(['..data', put.version, 'k'].sort());
  });

  it('reports a broken layout as CERTLOOP_STORE_CORRUPT, and an unconditional put repairs it', async () => {
    const secretDir = join(directory, 'broken');
    await mkdir(secretDir, { recursive: true });
    await symlink('..2026_01_01_00_00_00.gone', join(secretDir, '..data'));
    expect(await rejectionCode(store.get('broken'))).toBe('CERTLOOP_STORE_CORRUPT');
    // list leaves it out and reports it, rather than failing for every secret
    const reported: string[] = [];
    expect(await store.list({ onCorrupt: (error) => reported.push(`${error.code} ${error.details?.name}`) })).toEqual(
      [],
    );
    expect(reported).toEqual(['CERTLOOP_STORE_CORRUPT broken']);
    await store.put('broken', { data: { k: bytes('fixed') } });
    expect(text((await store.get('broken'))?.data.k)).toBe('fixed');

    const outward = join(directory, 'escape');
    await mkdir(outward);
    await symlink('../broken', join(outward, '..data'));
    expect(await rejectionCode(store.get('escape'))).toBe('CERTLOOP_STORE_CORRUPT');

    const badMeta = join(directory, 'badmeta');
    await mkdir(join(badMeta, '..2026_01_01_00_00_00.abcdef'), { recursive: true });
    await writeFile(join(badMeta, '..2026_01_01_00_00_00.abcdef', '..certloop.json'), '{not json');
    await symlink('..2026_01_01_00_00_00.abcdef', join(badMeta, '..data'));
    expect(await rejectionCode(store.get('badmeta'))).toBe('CERTLOOP_STORE_CORRUPT');

    const notLink = join(directory, 'notlink');
    await mkdir(join(notLink, '..data'), { recursive: true });
    expect(await rejectionCode(store.get('notlink'))).toBe('CERTLOOP_STORE_CORRUPT');
  });

  it('list skips hidden entries and junk', async () => {
    await store.put('real', { data: { k: bytes('v') } });
    await writeFile(join(directory, 'a-file'), 'junk');
    await mkdir(join(directory, '.hidden'));
    await mkdir(join(directory, 'Not_A_Name'));
    await mkdir(join(directory, 'empty-dir'));
    expect((await store.list()).map((secret) => secret.name)).toEqual(['real']);
    expect(await store.get('a-file')).toBeUndefined();
  });

  it('a reader racing a writer always sees one whole version', async () => {
    await store.put('race', { data: { a: bytes('0'), b: bytes('0'), c: bytes('0') } });
    let writing = true;
    const writer = (async () => {
      for (let generation = 1; generation <= 60; generation++) {
        const value = bytes(String(generation));
        await store.put('race', { data: { a: value, b: value, c: value } });
      }
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const secret = (await store.get('race'))!;
      expect(new Set(Object.values(secret.data).map(text)).size).toBe(1);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });

  it('a version removed while it is read is read again, never returned with keys missing', async () => {
    const first = await store.put('race', { data: { a: bytes('1'), b: bytes('1'), c: bytes('1') } });
    const secretDir = join(directory, 'race');
    const next = '..2026_03_04_05_06_08.race02';
    let swaps = 0;
    // another writer (a kubelet, another process) commits the next version and removes this one between the
    // reader's open of the data directory and its listing: the open descriptor then lists fewer entries, or none
    const writeBetween = (step: FsStep) => {
      if (step !== 'readdir' || swaps > 0) return;
      swaps++;
      const old = readlinkSync(join(secretDir, '..data'));
      mkdirSync(join(secretDir, next), { mode: 0o700 });
      for (const file of readdirSync(join(secretDir, old))) {
        const content = file === '..certloop.json' ? readFileSync(join(secretDir, old, file)) : 'two';
        writeFileSync(join(secretDir, next, file), content, { mode: 0o600 });
      }
      symlinkSync(next, join(secretDir, '..data_tmp'));
      renameSync(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
      for (const file of readdirSync(join(secretDir, old))) unlinkSync(join(secretDir, old, file));
      rmdirSync(join(secretDir, old));
    };
    setFsFaultInjector(writeBetween);
    try {
      const read = (await store.get('race'))!;
      expect(swaps).toBe(1);
      expect(read.version).toBe(next);
      expect(read.version).not.toBe(first.version);
      expect(Object.fromEntries(Object.entries(read.data).map(([k, v]) => [k, text(v)]))).toEqual({
        a: 'two',
        b: 'two',
        c: 'two',
      });
    } finally {
      setFsFaultInjector(undefined);
    }
  });

  it('refuses a missing directory option', () => {
    expect(() => new FileSecretStore({ directory: '' })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});
