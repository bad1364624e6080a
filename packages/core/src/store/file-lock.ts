/**
 * Internal: an exclusive lock per secret across processes, for FileSecretStore's read-compare-write.
 *
 * The lock only saves work: it keeps writers from racing each other into conflicts. It is not what keeps
 * compare-and-swap correct: a holder paused longer than `staleLockMs` (SIGSTOP, a long GC, a VM freeze) loses the
 * lock, and the per-version claim taken at the commit (file-commit.ts) is what stops its late write. So breaking a
 * live holder's lock can only cost time, never an update.
 *
 * The lock is a file `<directory>/.locks/<name>` holding the holder's identity (pid, hostname, process start time)
 * and a random token. It is created whole and exclusively: the record is written to a temporary file first, then
 * `link(2)`ed to the lock's name, which like `O_EXCL` fails when the name exists.
 *
 * Staleness, without comparing anyone's wall clock:
 * - a holder on this host whose pid is gone, or now runs another process (start time differs), is dead: broken
 *   at once;
 * - a lock of this very process that no call of this process holds (its release failed, e.g. the filesystem went
 *   read-only) is a leftover: broken at once;
 * - otherwise the holder heartbeats (it bumps the lock file's mtime through its open descriptor), and a waiter
 *   breaks the lock once it has seen the same heartbeat for `staleLockMs` on its own monotonic clock, as
 *   client-go judges a lease by its local observation time.
 * Breaking is serialized by a breaker file and re-checks the token, so two waiters never both break a lock, nor
 * break the fresh lock that replaced it.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, sleep, type TimerHandle } from '../clock/clock.js';
import { CertloopError, throwIfAborted } from '../errors.js';
import { hasErrno, toStoreIoError } from '../lib/fs-errors.js';
import { link, mkdir, open, readdir, rm, unlink, writeFile } from '../lib/fs-seam.js';
import { type HolderIdentity, holderLiveness, isSelf, selfIdentity } from './process-identity.js';

export interface FileLockOptions {
  /** `<directory>/.locks`. */
  readonly locksDir: string;
  readonly clock: Clock;
  /** How long to wait for a held lock before `CERTLOOP_LOCK_TIMEOUT`. */
  readonly timeoutMs: number;
  /** How long a holder's heartbeat may stand still before its lock is taken as abandoned. */
  readonly staleMs: number;
  /**
   * Observations of lock files shared by every wait of one store, so a holder's heartbeat standing still is timed
   * from the first time any call saw it, not restarted by each call (default: this call's alone).
   */
  readonly observations?: LockObservations | undefined;
  readonly signal?: AbortSignal | undefined;
}

interface LockRecord extends HolderIdentity {
  readonly acquiredAt: string;
  readonly token: string;
}

/** A lock file as read: its record (or 'unreadable') and its heartbeat (the mtime). */
interface Observed {
  readonly record: LockRecord | 'unreadable';
  readonly heartbeat: number;
  readonly text: string;
}

const BREAKERS_DIR = '.break';
const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;

/** Tokens of the locks this process holds right now: any other lock file naming this process is a leftover. */
const heldTokens = new Set<string>();

/** Takes the lock for `name`, waiting while another holder has it; resolves the release function. */
export async function acquireFileLock(name: string, options: FileLockOptions): Promise<() => Promise<void>> {
  const { clock, signal } = options;
  const lockPath = join(options.locksDir, name);
  const started = clock.monotonicNow();
  const watch = options.observations ?? new LockObservations(clock, options.staleMs);
  let delay = FIRST_RETRY_MS;
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      throwIfAborted(signal);
      const record = newRecord(clock);
      const handle = await tryCreate(lockPath, record, options.locksDir);
      if (handle) {
        watch.forget(lockPath);
        return holdLock(lockPath, record, handle, options);
      }
      const holder = await observe(lockPath);
      if (holder === 'missing') continue; // released meanwhile: try again at once
      if (watch.isStale(lockPath, holder) && (await breakStaleLock(name, lockPath, holder, options, watch))) continue;
      if (clock.monotonicNow() - started >= options.timeoutMs) {
        throw new CertloopError('CERTLOOP_LOCK_TIMEOUT', `file store: lock for secret ${name} is held`, {
          details: holderDetails(lockPath, holder.record),
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

/** Starts the heartbeat of a lock just taken and resolves its release function. */
function holdLock(
  lockPath: string,
  record: LockRecord,
  handle: FileHandle,
  options: FileLockOptions,
): () => Promise<void> {
  heldTokens.add(record.token);
  const { clock } = options;
  let beat = 1;
  let timer: TimerHandle | undefined;
  let released = false;
  const heartbeat = () => {
    timer = undefined;
    if (released) return;
    beat++;
    // through the descriptor: once the lock was broken and replaced, this touches only the old, unlinked file
    handle
      .utimes(beat, beat)
      .catch(() => undefined)
      .finally(() => {
        if (!released) timer = clock.setTimeout(heartbeat, options.staleMs / 4);
      });
  };
  timer = clock.setTimeout(heartbeat, options.staleMs / 4);
  return async () => {
    if (released) return;
    released = true;
    if (timer) clock.clearTimeout(timer);
    try {
      await releaseFileLock(lockPath, record.token);
    } finally {
      heldTokens.delete(record.token);
      await handle.close().catch(() => undefined);
    }
  };
}

/** Removes the lock if it is still ours (it may have been broken as stale meanwhile). */
async function releaseFileLock(lockPath: string, token: string): Promise<void> {
  const holder = await observe(lockPath);
  if (holder !== 'missing' && holder.record !== 'unreadable' && holder.record.token === token) {
    await unlink(lockPath).catch((err) => {
      if (!hasErrno(err, 'ENOENT')) throw toStoreIoError(err, 'unlock', lockPath);
    });
  }
}

function newRecord(clock: Clock): LockRecord {
  return { ...selfIdentity(), acquiredAt: clock.now().toISOString(), token: randomBytes(12).toString('hex') };
}

/**
 * Creates the lock file whole and exclusively, and resolves a descriptor on it (for the heartbeat); undefined
 * when it already exists.
 */
async function tryCreate(lockPath: string, record: LockRecord, locksDir: string): Promise<FileHandle | undefined> {
  const tmp = join(locksDir, `.tmp.${record.token}`);
  let handle: FileHandle | undefined;
  const create = async () => {
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
    // held read-only (a file open for writing would keep its filesystem from being remounted read-only);
    // heartbeat 1: the mtime counts beats, it is not a time
    handle = await open(tmp, 'r');
    await handle.utimes(1, 1);
    await link(tmp, lockPath);
  };
  try {
    try {
      await create();
    } catch (err) {
      if (!hasErrno(err, 'ENOENT')) throw err;
      // first lock in this directory: make `.locks` (and `.locks/.break`) and try once more
      await handle?.close();
      handle = undefined;
      await mkdir(join(locksDir, BREAKERS_DIR), { recursive: true, mode: 0o700 });
      await rm(tmp, { force: true });
      await create();
    }
    const created = handle;
    handle = undefined;
    return created;
  } catch (err) {
    if (hasErrno(err, 'EEXIST')) return undefined;
    throw toStoreIoError(err, 'lock', lockPath);
  } finally {
    await (handle as FileHandle | undefined)?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

async function observe(lockPath: string): Promise<Observed | 'missing'> {
  let handle: FileHandle;
  try {
    handle = await open(lockPath, 'r');
  } catch (err) {
    if (hasErrno(err, 'ENOENT')) return 'missing';
    throw toStoreIoError(err, 'read lock', lockPath);
  }
  try {
    const [text, info] = await Promise.all([handle.readFile('utf8'), handle.stat()]);
    return { record: parseRecord(text), heartbeat: info.mtimeMs, text };
  } catch (err) {
    throw toStoreIoError(err, 'read lock', lockPath);
  } finally {
    await handle.close();
  }
}

function parseRecord(text: string): LockRecord | 'unreadable' {
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.hostname === 'string' &&
      typeof parsed.acquiredAt === 'string' &&
      typeof parsed.token === 'string' &&
      (parsed.startTime === undefined || typeof parsed.startTime === 'string')
    ) {
      return parsed as LockRecord;
    }
  } catch {
    // fall through: not a lock record of ours
  }
  return 'unreadable';
}

/**
 * Judges lock files waiters see: dead holders and this process's own leftovers at once, live ones by how long
 * their heartbeat has stood still, on the waiter's monotonic clock. One entry per lock path (the last state seen
 * and since when), so a store can share one instance between all its waits.
 */
export class LockObservations {
  readonly #clock: Clock;
  readonly #staleMs: number;
  readonly #seen = new Map<string, { readonly key: string; readonly since: number }>();

  constructor(clock: Clock, staleMs: number) {
    this.#clock = clock;
    this.#staleMs = staleMs;
  }

  /** Forgets `path` (its lock was taken: the next holder is observed afresh). */
  forget(path: string): void {
    this.#seen.delete(path);
  }

  isStale(path: string, observed: Observed): boolean {
    const { record } = observed;
    // a lock file certloop did not write whole (made by hand, a foreign tool) cannot be judged: treat as stale
    if (record === 'unreadable') return true;
    if (isSelf(record) && !heldTokens.has(record.token)) return true;
    if (holderLiveness(record) === 'dead') return true;
    const key = `${observed.text}\n${observed.heartbeat}`;
    const now = this.#clock.monotonicNow();
    const seen = this.#seen.get(path);
    if (seen?.key !== key) {
      this.#seen.set(path, { key, since: now });
      return false;
    }
    return now - seen.since > this.#staleMs;
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
  observed: Observed,
  options: FileLockOptions,
  watch: LockObservations,
): Promise<boolean> {
  const breakerPath = join(options.locksDir, BREAKERS_DIR, name);
  const breaker = newRecord(options.clock);
  const handle = await tryCreate(breakerPath, breaker, options.locksDir);
  if (!handle) {
    const other = await observe(breakerPath);
    // a breaker that died (or froze) while breaking would block every waiter: remove it once it is stale itself
    if (other === 'missing') return true;
    if (!watch.isStale(breakerPath, other)) return false;
    await rm(breakerPath, { force: true });
    return true;
  }
  heldTokens.add(breaker.token);
  try {
    const current = await observe(lockPath);
    const same =
      current !== 'missing' &&
      (current.text === observed.text ||
        (current.record !== 'unreadable' &&
          observed.record !== 'unreadable' &&
          current.record.token === observed.record.token));
    if (same) {
      await rm(lockPath, { force: true });
      await sweepAbandonedTemporaries(options);
    }
    return true;
  } catch (err) {
    throw toStoreIoError(err, 'break lock', lockPath);
  } finally {
    heldTokens.delete(breaker.token);
    await handle.close().catch(() => undefined);
    await releaseFileLock(breakerPath, breaker.token).catch(() => undefined);
  }
}

/** Removes temporary lock records left by holders that died between writing and linking them. */
async function sweepAbandonedTemporaries(options: FileLockOptions): Promise<void> {
  const entries = await readdir(options.locksDir).catch(() => [] as string[]);
  for (const entry of entries.filter((name) => name.startsWith('.tmp.'))) {
    const path = join(options.locksDir, entry);
    const record = await observe(path).catch(() => 'missing' as const);
    // an unreadable one may be being written right now: only judge complete records of dead holders
    if (record !== 'missing' && record.record !== 'unreadable' && holderLiveness(record.record) === 'dead') {
      await rm(path, { force: true });
    }
  }
}

function holderDetails(lockPath: string, holder: LockRecord | 'unreadable'): Record<string, unknown> {
  if (holder === 'unreadable') return { path: lockPath };
  return { path: lockPath, pid: holder.pid, hostname: holder.hostname, acquiredAt: holder.acquiredAt };
}
