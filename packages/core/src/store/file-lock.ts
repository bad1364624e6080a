/**
 * Internal: an exclusive lock per secret across processes, for FileSecretStore's read-compare-write.
 *
 * The lock is a file `<directory>/.locks/<name>` holding the holder's pid, hostname, time and a random token.
 * It is created whole and exclusively: the record is written to a temporary file first, then `link(2)`ed to the
 * lock's name, which like `O_EXCL` fails when the name exists, so a lock file is never seen half written.
 * A lock is stale when its holder's pid is dead on this host, or it is older than `staleLockMs` (a holder on
 * another host, or one stuck). Breaking a stale lock is itself serialized by a breaker file and re-checks the
 * token, so two waiters never both break it, nor break the fresh lock that replaced it.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Clock, sleep } from '../clock/clock.js';
import { CertloopError, throwIfAborted } from '../errors.js';
import { hasErrno, toStoreIoError } from '../lib/fs-errors.js';

export interface FileLockOptions {
  /** `<directory>/.locks`. */
  readonly locksDir: string;
  readonly clock: Clock;
  /** How long to wait for a held lock before `CERTLOOP_LOCK_TIMEOUT`. */
  readonly timeoutMs: number;
  /** Age after which a lock is taken to be abandoned. */
  readonly staleMs: number;
  readonly signal?: AbortSignal | undefined;
}

interface LockRecord {
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
  readonly token: string;
}

const BREAKERS_DIR = '.break';
const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;

/** Takes the lock for `name`, waiting while another holder has it; resolves the release function. */
export async function acquireFileLock(name: string, options: FileLockOptions): Promise<() => Promise<void>> {
  const { clock, signal } = options;
  const lockPath = join(options.locksDir, name);
  const started = clock.now().getTime();
  let delay = FIRST_RETRY_MS;
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      throwIfAborted(signal);
      const record = newRecord(clock);
      if (await tryCreate(lockPath, record, options.locksDir)) return () => releaseFileLock(lockPath, record.token);
      const holder = await readRecord(lockPath);
      if (holder === 'missing') continue; // released meanwhile: try again at once
      if (isStale(holder, options) && (await breakStaleLock(name, lockPath, holder, options))) continue;
      if (clock.now().getTime() - started >= options.timeoutMs) {
        throw new CertloopError('CERTLOOP_LOCK_TIMEOUT', `file store: lock for secret ${name} is held`, {
          details: holderDetails(lockPath, holder),
        });
      }
      // clock timers do not keep the process alive; a pending lock wait must, like pending I/O does
      keepAlive ??= setInterval(() => undefined, 1 << 30);
      // jitter keeps waiting processes from retrying in lockstep
      await sleep(clock, delay * (0.5 + Math.random()), signal);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  } finally {
    if (keepAlive) clearInterval(keepAlive);
  }
}

/** Removes the lock if it is still ours (it may have been broken as stale meanwhile). */
async function releaseFileLock(lockPath: string, token: string): Promise<void> {
  const holder = await readRecord(lockPath);
  if (holder !== 'missing' && holder !== 'unreadable' && holder.token === token) {
    await unlink(lockPath).catch((err) => {
      if (!hasErrno(err, 'ENOENT')) throw toStoreIoError(err, 'unlock', lockPath);
    });
  }
}

function newRecord(clock: Clock): LockRecord {
  return {
    pid: process.pid,
    hostname: hostname(),
    acquiredAt: clock.now().toISOString(),
    token: randomBytes(12).toString('hex'),
  };
}

/** Creates the lock file whole and exclusively; false when it already exists. */
async function tryCreate(lockPath: string, record: LockRecord, locksDir: string): Promise<boolean> {
  const tmp = join(locksDir, `.tmp.${record.token}`);
  const create = async () => {
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
    await link(tmp, lockPath);
  };
  try {
    try {
      await create();
    } catch (err) {
      if (!hasErrno(err, 'ENOENT')) throw err;
      // first lock in this directory: make `.locks` (and `.locks/.break`) and try once more
      await mkdir(join(locksDir, BREAKERS_DIR), { recursive: true, mode: 0o700 });
      await rm(tmp, { force: true });
      await create();
    }
    return true;
  } catch (err) {
    if (hasErrno(err, 'EEXIST')) return false;
    throw toStoreIoError(err, 'lock', lockPath);
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

async function readRecord(lockPath: string): Promise<LockRecord | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if (hasErrno(err, 'ENOENT')) return 'missing';
    throw toStoreIoError(err, 'read lock', lockPath);
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.hostname === 'string' &&
      typeof parsed.acquiredAt === 'string' &&
      typeof parsed.token === 'string'
    ) {
      return parsed as LockRecord;
    }
  } catch {
    // fall through: not a lock record of ours
  }
  return 'unreadable';
}

function isStale(holder: LockRecord | 'unreadable', options: Pick<FileLockOptions, 'clock' | 'staleMs'>): boolean {
  // a lock file certloop did not write whole (made by hand, a foreign tool) cannot be judged: treat as stale
  if (holder === 'unreadable') return true;
  if (holder.hostname === hostname() && !isProcessAlive(holder.pid)) return true;
  const age = options.clock.now().getTime() - Date.parse(holder.acquiredAt);
  return !(age <= options.staleMs);
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user
    return !hasErrno(err, 'ESRCH');
  }
}

/**
 * Removes the stale lock `observed`, under a breaker lock so that the check-then-remove is not raced by
 * another breaker. Resolves true when the caller should try the lock again at once, false when another
 * breaker is at work and the caller should wait as for a held lock.
 */
async function breakStaleLock(
  name: string,
  lockPath: string,
  observed: LockRecord | 'unreadable',
  options: FileLockOptions,
): Promise<boolean> {
  const breakerPath = join(options.locksDir, BREAKERS_DIR, name);
  const breaker = newRecord(options.clock);
  if (!(await tryCreate(breakerPath, breaker, options.locksDir))) {
    const other = await readRecord(breakerPath);
    // a breaker that died while breaking would block every waiter: remove it once it is stale itself
    if (other === 'missing') return true;
    if (!isStale(other, options)) return false;
    await rm(breakerPath, { force: true });
    return true;
  }
  try {
    const current = await readRecord(lockPath);
    const same =
      current === observed ||
      (current !== 'missing' &&
        current !== 'unreadable' &&
        observed !== 'unreadable' &&
        current.token === observed.token);
    if (same) {
      await rm(lockPath, { force: true });
      await sweepAbandonedTemporaries(options);
    }
    return true;
  } finally {
    await releaseFileLock(breakerPath, breaker.token);
  }
}

/** Removes temporary lock records left by holders that died between writing and linking them. */
async function sweepAbandonedTemporaries(options: FileLockOptions): Promise<void> {
  const entries = await readdir(options.locksDir).catch(() => [] as string[]);
  for (const entry of entries.filter((name) => name.startsWith('.tmp.'))) {
    const path = join(options.locksDir, entry);
    const record = await readRecord(path).catch(() => 'missing' as const);
    // an unreadable one may be being written right now: only judge complete records
    if (record !== 'missing' && record !== 'unreadable' && isStale(record, options)) await rm(path, { force: true });
  }
}

function holderDetails(lockPath: string, holder: LockRecord | 'unreadable'): Record<string, unknown> {
  if (holder === 'unreadable') return { path: lockPath };
  return { path: lockPath, pid: holder.pid, hostname: holder.hostname, acquiredAt: holder.acquiredAt };
}
