import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { rejectionCode } from '../testing/index.js';
import { FileSecretStore } from './file-store.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** The pid of a process that has exited (so is dead on this host). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Advances the clock in steps until `promise` settles (the store does real I/O between timers). */
async function driveUntilSettled(clock: ManualClock, promise: Promise<unknown>, stepMs = 50): Promise<void> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 2000 && !settled; i++) await clock.advance(stepMs);
}

describe('FileSecretStore lock', () => {
  let root: string;
  let directory: string;
  let clock: ManualClock;
  let store: FileSecretStore;
  const lockPath = () => join(directory, '.locks', 'guarded');
  const writeLock = async (record: object | string) => {
    await mkdir(join(directory, '.locks'), { recursive: true });
    await writeFile(lockPath(), typeof record === 'string' ? record : JSON.stringify(record));
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-file-lock-'));
    directory = join(root, 'secrets');
    clock = new ManualClock('2026-01-01T00:00:00Z');
    store = new FileSecretStore({ directory, clock, lockTimeoutMs: 1_000, staleLockMs: 30_000 });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('recovers a lock left by a dead process on this host at once', async () => {
    await writeLock({ pid: await deadPid(), hostname: hostname(), acquiredAt: clock.now().toISOString(), token: 't' });
    await store.put('guarded', { data: { k: bytes('v') } });
    expect(await readdir(join(directory, '.locks'))).not.toContain('guarded');
  });

  it('leaves a stale lock to a breaker at work, and takes over from a breaker that died', async () => {
    const dead = await deadPid();
    await writeLock({ pid: dead, hostname: hostname(), acquiredAt: clock.now().toISOString(), token: 't' });
    const breaker = join(directory, '.locks', '.break', 'guarded');
    await mkdir(join(directory, '.locks', '.break'), { recursive: true });
    const live = { pid: process.pid, hostname: hostname(), acquiredAt: clock.now().toISOString(), token: 'b' };
    await writeFile(breaker, JSON.stringify(live));
    let done = false;
    const put = store.put('guarded', { data: { k: bytes('v') } }).then(() => {
      done = true;
    });
    for (let i = 0; i < 5; i++) await clock.advance(50);
    expect(done).toBe(false);
    await writeFile(breaker, JSON.stringify({ ...live, pid: dead }));
    await driveUntilSettled(clock, put);
    await put;
    expect(await store.get('guarded')).toBeDefined();
  });

  it('recovers a lock older than staleLockMs even when its holder lives', async () => {
    const old = new Date(clock.now().getTime() - 30_001).toISOString();
    await writeLock({ pid: process.pid, hostname: hostname(), acquiredAt: old, token: 't' });
    await store.put('guarded', { data: { k: bytes('v') } });
    expect((await store.get('guarded'))?.data.k).toEqual(bytes('v'));
  });

  it('breaks a lock file it cannot read (not written by certloop)', async () => {
    await writeLock('garbage');
    await store.put('guarded', { data: { k: bytes('v') } });
    expect(await store.get('guarded')).toBeDefined();
  });

  it('waits for a live holder and goes ahead once it releases', async () => {
    await writeLock({ pid: process.pid, hostname: hostname(), acquiredAt: clock.now().toISOString(), token: 't' });
    let done = false;
    const put = store.put('guarded', { data: { k: bytes('v') } }).then(() => {
      done = true;
    });
    for (let i = 0; i < 5; i++) await clock.advance(50);
    expect(done).toBe(false);
    await rm(lockPath());
    await driveUntilSettled(clock, put);
    await put;
    expect(await store.get('guarded')).toBeDefined();
  });

  it('gives up with CERTLOOP_LOCK_TIMEOUT after lockTimeoutMs, writing nothing', async () => {
    await writeLock({ pid: 1, hostname: 'another-host', acquiredAt: clock.now().toISOString(), token: 't' });
    const put = store.put('guarded', { data: { k: bytes('v') } });
    await driveUntilSettled(clock, put);
    expect(await rejectionCode(put)).toBe('CERTLOOP_LOCK_TIMEOUT');
    expect(clock.now().getTime()).toBeGreaterThanOrEqual(Date.parse('2026-01-01T00:00:01Z'));
    expect(await store.get('guarded')).toBeUndefined();
  });

  it('stops waiting with CERTLOOP_ABORTED when the signal aborts', async () => {
    await writeLock({ pid: process.pid, hostname: hostname(), acquiredAt: clock.now().toISOString(), token: 't' });
    const controller = new AbortController();
    const put = store.put('guarded', { data: { k: bytes('v') } }, { signal: controller.signal });
    await clock.advance(20);
    controller.abort();
    expect(await rejectionCode(put)).toBe('CERTLOOP_ABORTED');
    expect(await store.get('guarded')).toBeUndefined();
  });

  it('queues writers of one process without touching the lock wait (no clock needed)', async () => {
    const writes = Array.from({ length: 10 }, (_, i) => store.put('guarded', { data: { k: bytes(String(i)) } }));
    const versions = new Set((await Promise.all(writes)).map((secret) => secret.version));
    expect(versions.size).toBe(10);
    expect(clock.pendingTimers).toBe(0);
  });
});
