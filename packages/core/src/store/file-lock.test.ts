import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../clock/clock.js';
import { ManualClock } from '../clock/manual-clock.js';
import { rejectionCode } from '../testing/index.js';
import { acquireFileLock } from './file-lock.js';
import { FileSecretStore } from './file-store.js';
import { processStartTime, selfIdentity } from './process-identity.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** The pid of a process that has exited (so is dead on this host). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** A live process on this host other than this one, and the identity a lock of it records. */
async function liveProcess(): Promise<{ child: ChildProcess; pid: number; hostname: string; startTime?: string }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  return { child, pid: child.pid!, hostname: hostname(), startTime: processStartTime(child.pid!) };
}

/**
 * Advances the clock in steps until `promise` settles or `totalMs` passed. The store does real I/O between
 * timers, so each step first waits (in real time, bounded) for the waiter to be sleeping on the clock again.
 */
async function driveUntilSettled(
  clock: ManualClock,
  promise: Promise<unknown>,
  stepMs = 50,
  totalMs = 100_000,
  onStep: () => Promise<void> = async () => undefined,
): Promise<void> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let moved = 0; moved < totalMs && !settled; moved += stepMs) {
    for (let i = 0; i < 200 && clock.pendingTimers === 0 && !settled; i++) await new Promise((r) => setTimeout(r, 5));
    await onStep();
    await clock.advance(stepMs);
  }
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
  /** The token of the lock file now, or undefined when there is none. */
  const heldBy = async () =>
    (JSON.parse(await readFile(lockPath(), 'utf8').catch(() => '{}')) as { token?: string }).token;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-file-lock-'));
    directory = join(root, 'secrets');
    clock = new ManualClock('2026-01-01T00:00:00Z');
    store = new FileSecretStore({ directory, clock, staleLockMs: 30_000 });
  });
  const live: ChildProcess[] = [];
  const holder = async () => {
    const { child, ...identity } = await liveProcess();
    live.push(child);
    return identity;
  };
  afterEach(async () => {
    for (const child of live.splice(0)) {
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => undefined);
    }
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
    const alive = { ...(await holder()), acquiredAt: clock.now().toISOString(), token: 'b' };
    await writeFile(breaker, JSON.stringify(alive));
    let done = false;
    const put = store.put('guarded', { data: { k: bytes('v') } }).then(() => {
      done = true;
    });
    for (let i = 0; i < 5; i++) await clock.advance(50);
    expect(done).toBe(false);
    await writeFile(breaker, JSON.stringify({ ...alive, pid: dead }));
    await driveUntilSettled(clock, put);
    await put;
    expect(await store.get('guarded')).toBeDefined();
  });

  it('breaks the lock of a live holder once its heartbeat stood still for staleLockMs (a paused holder)', async () => {
    const patient = new FileSecretStore({ directory, clock, lockTimeoutMs: 120_000, staleLockMs: 30_000 });
    await writeLock({ ...(await holder()), acquiredAt: clock.now().toISOString(), token: 't' });
    let done = false;
    const put = patient.put('guarded', { data: { k: bytes('v') } }).then(() => {
      done = true;
    });
    await driveUntilSettled(clock, put, 500, 29_000);
    expect(done).toBe(false);
    await driveUntilSettled(clock, put, 500);
    await put;
    expect((await store.get('guarded'))?.data.k).toEqual(bytes('v'));
  });

  it('takes a pid now running another process (reused) as dead, at once', async () => {
    const reused = { ...(await holder()), startTime: '1' };
    await writeLock({ ...reused, acquiredAt: clock.now().toISOString(), token: 't' });
    await store.put('guarded', { data: { k: bytes('v') } });
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('recognises a lock of this process that nothing here holds (its release failed) as its own leftover', async () => {
    await writeLock({ ...selfIdentity(), acquiredAt: clock.now().toISOString(), token: 'left-behind' });
    await store.put('guarded', { data: { k: bytes('v') } });
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('a holder in this process keeps its lock alive by heartbeat far past staleLockMs', async () => {
    const options = { locksDir: join(directory, '.locks'), clock, timeoutMs: 600_000, staleMs: 1_000 };
    const release = await acquireFileLock('held', options);
    let second: (() => Promise<void>) | undefined;
    const waiting = acquireFileLock('held', options).then((r) => {
      second = r;
    });
    await driveUntilSettled(clock, waiting, 100, 4_000);
    expect(second).toBeUndefined();
    await release();
    await driveUntilSettled(clock, waiting);
    await waiting;
    expect(second).toBeDefined();
    await second!();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a step of the wall clock does not break a live lock: ages run on the monotonic reading', async () => {
    let wallOffset = 0;
    const stepping: Clock & { monotonicNow(): number } = {
      now: () => new Date(clock.now().getTime() + wallOffset),
      monotonicNow: () => clock.now().getTime(),
      setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
      clearTimeout: (handle) => clock.clearTimeout(handle),
    };
    const stepped = new FileSecretStore({ directory, clock: stepping, lockTimeoutMs: 120_000, staleLockMs: 30_000 });
    await writeLock({ ...(await holder()), acquiredAt: stepping.now().toISOString(), token: 't' });
    let done = false;
    const put = stepped.put('guarded', { data: { k: bytes('v') } }).then(() => {
      done = true;
    });
    await driveUntilSettled(clock, put, 100, 100);
    wallOffset = 2 * 86_400_000;
    await driveUntilSettled(clock, put, 1_000, 20_000);
    expect(done).toBe(false);
    await driveUntilSettled(clock, put, 500);
    await put;
    expect(done).toBe(true);
  });

  it('breaks a lock file it cannot read (not written by certloop)', async () => {
    await writeLock('garbage');
    await store.put('guarded', { data: { k: bytes('v') } });
    expect(await store.get('guarded')).toBeDefined();
  });

  it('waits for a live holder and goes ahead once it releases', async () => {
    await writeLock({ ...(await holder()), acquiredAt: clock.now().toISOString(), token: 't' });
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

  it('gives up with CERTLOOP_LOCK_TIMEOUT after lockTimeoutMs behind a live holder that keeps its heartbeat, writing nothing', async () => {
    await writeLock({ pid: 1, hostname: 'another-host', acquiredAt: clock.now().toISOString(), token: 't' });
    let beat = 1;
    const heartbeat = () => utimes(lockPath(), ++beat, beat);
    const put = store.put('guarded', { data: { k: bytes('v') } });
    await driveUntilSettled(clock, put, 1_000, 100_000, heartbeat);
    expect(await rejectionCode(put)).toBe('CERTLOOP_LOCK_TIMEOUT');
    // the default lockTimeoutMs: 1.5 x staleLockMs
    expect(clock.now().getTime()).toBeGreaterThanOrEqual(Date.parse('2026-01-01T00:00:45Z'));
    expect(await store.get('guarded')).toBeUndefined();
  });

  it('at the default options, a write outwaits a paused holder and breaks its lock (it never gives up first)', async () => {
    const defaults = new FileSecretStore({ directory, clock });
    await writeLock({ ...(await holder()), acquiredAt: clock.now().toISOString(), token: 't' });
    let done = false;
    const put = defaults.put('guarded', { data: { k: bytes('v') } }).then(() => {
      done = true;
    });
    await driveUntilSettled(clock, put, 1_000, 29_000);
    expect(done).toBe(false);
    expect(await heldBy()).toBe('t');
    // past staleLockMs (30 s) and before lockTimeoutMs (45 s): the lock is broken, the write goes through
    await driveUntilSettled(clock, put, 1_000, 10_000);
    expect(await heldBy()).not.toBe('t');
    await put;
  });

  it('times a paused holder from the first sighting by any write of the store, not afresh for each write', async () => {
    await writeLock({ ...(await holder()), acquiredAt: clock.now().toISOString(), token: 't' });
    const controller = new AbortController();
    const first = store.put('guarded', { data: { k: bytes('1') } }, { signal: controller.signal });
    await driveUntilSettled(clock, new Promise(() => undefined), 1_000, 20_000);
    controller.abort();
    expect(await rejectionCode(first)).toBe('CERTLOOP_ABORTED');
    const second = store.put('guarded', { data: { k: bytes('2') } });
    // broken 30 s after the first write saw it, not 30 s after the second one started
    await driveUntilSettled(clock, second, 1_000, 15_000);
    expect(await heldBy()).not.toBe('t');
    await second;
  });

  it('refuses options where a write would give up before a paused holder loses its lock (CERTLOOP_INVALID_CONFIG)', () => {
    const code = (options: object) => {
      try {
        new FileSecretStore({ directory, ...options });
        return 'ok';
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    expect(code({ lockTimeoutMs: 10_000 })).toBe('CERTLOOP_INVALID_CONFIG');
    expect(code({ lockTimeoutMs: 5_000, staleLockMs: 5_000 })).toBe('CERTLOOP_INVALID_CONFIG');
    expect(code({ lockTimeoutMs: 1_000, staleLockMs: 2_000 })).toBe('CERTLOOP_INVALID_CONFIG');
    expect(code({ staleLockMs: 1_000 })).toBe('ok');
    expect(code({ lockTimeoutMs: 60_000 })).toBe('ok');
    expect(code({ lockTimeoutMs: 400, staleLockMs: 300 })).toBe('ok');
  });

  it('stops waiting with CERTLOOP_ABORTED when the signal aborts', async () => {
    await writeLock({ ...(await holder()), acquiredAt: clock.now().toISOString(), token: 't' });
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
