/**
 * `@certloop/core` FileSecretStore: a SecretStore on the local filesystem, in the layout of a Kubernetes Secret
 * mounted into a pod (see file-layout.ts), so it reads a mounted Secret unchanged and a crash mid-write leaves
 * the old or the new secret whole.
 *
 * Compare-and-swap holds across processes: every write takes the secret's lock (an in-process queue, then a
 * lock file under `<directory>/.locks/`) around its read-compare-write. Reads take no lock. Key files are
 * mode 0600 and directories 0700.
 *
 * It is also a Watcher: `watch(name)` reports every change, by this process, another one, or a kubelet-style
 * `..data` swap made by hand, through `fs.watch` with polling on the clock as the safety net; all watches of a
 * store share one set of fs watchers (one per watched secret directory, one on the store directory) and one
 * poll loop (see file-watch.ts).
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Clock, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { hasErrno, toStoreIoError } from '../lib/fs-errors.js';
import { FileWatchHub } from '../watch/file-watch.js';
import type { WatchEvent, Watcher, WatchOptions } from '../watch/types.js';
import { WatchChannel } from '../watch/watch-channel.js';
import { readSecretDirectory } from './file-layout.js';
import { readDataVersionSync, readSecretDirectorySync } from './file-layout-sync.js';
import { acquireFileLock, LockObservations } from './file-lock.js';
import { deleteSecretDirectory, writeSecretDirectory } from './file-writer.js';
import { KeyedMutex } from './keyed-mutex.js';
import { assertSecretInput, assertSecretName, isValidSecretName } from './names.js';
import { matchesLabelSelector, secretFromInput, sortByName } from './secret-utils.js';
import type {
  DeleteOptions,
  ListOptions,
  PutOptions,
  Secret,
  SecretInput,
  SecretStore,
  StoreCallOptions,
} from './types.js';

const DEFAULT_STALE_LOCK_MS = 30_000;

export interface FileSecretStoreOptions {
  /** The directory holding one directory per secret; created (mode 0700) on the first write. */
  readonly directory: string;
  /** Time for data directory names, lock ages and waits (default `systemClock`). */
  readonly clock?: Clock;
  /**
   * How long a write waits for another process's lock before `CERTLOOP_LOCK_TIMEOUT` (default 1.5 x
   * `staleLockMs`, 45 s at the defaults). Must exceed `staleLockMs`, so that a write waiting for a paused holder
   * outlasts the holder's lock and breaks it, as promised, rather than give up first (`CERTLOOP_INVALID_CONFIG`
   * otherwise).
   */
  readonly lockTimeoutMs?: number;
  /**
   * How long a live holder's heartbeat (every quarter of this) may stand still before its lock is taken as
   * abandoned and broken (default 30 s): a holder paused (SIGSTOP, a VM freeze) that long loses its lock, which
   * costs it time, never an update (compare-and-swap is fenced at the commit). A lock whose holder pid is dead
   * on this host is broken at once. Every write of the store times the same holder from its first sighting.
   */
  readonly staleLockMs?: number;
  /**
   * Watch: how often watched secrets are polled while polling is the only way to see changes (`fsWatch: false`,
   * or fs.watch failing, or lately missing changes) (default 2000 ms). While fs events work, one poll loop per
   * store runs as a safety net at a longer interval (at least 10 s, and 2 ms per watched secret).
   */
  readonly pollIntervalMs?: number;
  /** Watch: false to detect changes by polling alone, without `fs.watch` (default true). */
  readonly fsWatch?: boolean;
  /**
   * Read and write secret directories that are themselves symbolic links, as some volume mounts present them
   * (default false: such a secret is reported `CERTLOOP_STORE_CORRUPT`). Links inside a secret directory other
   * than the layout's own are never followed, whatever this says.
   */
  readonly followSymlinkedSecrets?: boolean;
  /**
   * Called for each secret `list()` leaves out because it cannot be read (`CERTLOOP_STORE_CORRUPT`,
   * `CERTLOOP_INPUT_TOO_LARGE`), when the call itself passes no `onCorrupt`. Without either, each distinct
   * problem is emitted once as a process warning (`process.emitWarning`).
   */
  readonly onCorrupt?: (error: CertloopError) => void;
}

export class FileSecretStore implements SecretStore, Watcher {
  /** The store's directory, as an absolute path. */
  readonly directory: string;
  readonly #clock: Clock;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;
  readonly #lockObservations: LockObservations;
  readonly #pollIntervalMs: number;
  readonly #fsWatch: boolean;
  readonly #followLinks: boolean;
  readonly #onCorrupt: ((error: CertloopError) => void) | undefined;
  readonly #warned = new Set<string>();
  readonly #writers = new KeyedMutex();
  readonly #watches = new Set<WatchChannel>();
  #hub: FileWatchHub | undefined;
  #closed = false;

  constructor(options: FileSecretStoreOptions) {
    if (typeof options?.directory !== 'string' || options.directory.length === 0) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'FileSecretStore needs a directory');
    }
    this.directory = resolve(options.directory);
    this.#clock = options.clock ?? systemClock;
    this.#staleLockMs = positive(options.staleLockMs, DEFAULT_STALE_LOCK_MS, 'staleLockMs');
    this.#lockTimeoutMs = positive(options.lockTimeoutMs, this.#staleLockMs * 1.5, 'lockTimeoutMs');
    if (this.#lockTimeoutMs <= this.#staleLockMs) {
      throw new CertloopError(
        'CERTLOOP_INVALID_CONFIG',
        'FileSecretStore lockTimeoutMs must exceed staleLockMs: a write would give up before a paused holder loses its lock',
        { details: { lockTimeoutMs: this.#lockTimeoutMs, staleLockMs: this.#staleLockMs } },
      );
    }
    this.#lockObservations = new LockObservations(this.#clock, this.#staleLockMs);
    this.#pollIntervalMs = positive(options.pollIntervalMs, 2_000, 'pollIntervalMs');
    this.#fsWatch = options.fsWatch ?? true;
    this.#followLinks = options.followSymlinkedSecrets === true;
    this.#onCorrupt = options.onCorrupt;
  }

  async get(name: string, options: StoreCallOptions = {}): Promise<Secret | undefined> {
    assertSecretName(name);
    throwIfAborted(options.signal);
    const secretDir = join(this.directory, name);
    try {
      return await readSecretDirectory(secretDir, name, { followSecretLink: this.#followLinks });
    } catch (err) {
      throw toStoreIoError(err, 'get', secretDir);
    }
  }

  async put(name: string, input: SecretInput, options: PutOptions = {}): Promise<Secret> {
    assertSecretName(name);
    const normalized = assertSecretInput(input);
    const { signal, expectedVersion } = options;
    const secretDir = join(this.directory, name);
    return this.#locked(name, signal, async () => {
      const version = await writeSecretDirectory({
        name,
        secretDir,
        input: normalized,
        clock: this.#clock,
        expectedVersion,
        followSecretLink: this.#followLinks,
        signal,
      });
      return secretFromInput(name, normalized, version);
    });
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<boolean> {
    assertSecretName(name);
    const { signal, expectedVersion } = options;
    return this.#locked(name, signal, () => deleteSecretDirectory(this.directory, name, expectedVersion, signal));
  }

  /**
   * Secrets sorted by name; hidden entries and entries that are not secret directories are skipped. A secret
   * that cannot be read (corrupt, too large) is left out and reported to `onCorrupt` (the call's, else the
   * store's, else a process warning), so one bad directory never hides the others.
   */
  async list(options: ListOptions = {}): Promise<Secret[]> {
    throwIfAborted(options.signal);
    let entries: Dirent[];
    try {
      entries = await readdir(this.directory, { withFileTypes: true });
    } catch (err) {
      if (hasErrno(err, 'ENOENT')) return [];
      throw toStoreIoError(err, 'list', this.directory);
    }
    const found: Secret[] = [];
    for (const entry of entries) {
      if (!isValidSecretName(entry.name) || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
      throwIfAborted(options.signal);
      let secret: Secret | undefined;
      try {
        secret = await this.get(entry.name);
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_STORE_CORRUPT') && !isCertloopError(err, 'CERTLOOP_INPUT_TOO_LARGE')) {
          throw err;
        }
        this.#reportCorrupt(entry.name, err, options.onCorrupt);
        continue;
      }
      if (secret && matchesLabelSelector(secret.labels, options.labelSelector)) found.push(secret);
    }
    return sortByName(found);
  }

  #reportCorrupt(name: string, err: CertloopError, onCorrupt: ((error: CertloopError) => void) | undefined): void {
    const error = new CertloopError(err.code, err.message, { cause: err.cause, details: { ...err.details, name } });
    const handler = onCorrupt ?? this.#onCorrupt;
    if (handler) {
      handler(error);
      return;
    }
    const key = `${name}\n${err.message}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    process.emitWarning(`certloop: secret ${name} left out of list(): ${err.message}`, { code: err.code });
  }

  /**
   * Yields `initial` with the current state, then `updated` and `deleted` as the directory changes. Throws
   * `CERTLOOP_CLOSED` after {@link close}.
   */
  watch(name: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    assertSecretName(name);
    if (this.#closed) throw new CertloopError('CERTLOOP_CLOSED', 'the store was closed');
    const channel = new WatchChannel(
      name,
      () => {
        this.#watches.delete(channel);
        this.#hub?.remove(name, channel);
      },
      options.signal,
    );
    if (!channel.ended) {
      this.#watches.add(channel);
      this.#hub ??= new FileWatchHub({
        directory: this.directory,
        clock: this.#clock,
        readVersion: (secret) => readDataVersionSync(join(this.directory, secret)),
        read: (secret) => this.#readShared(secret),
        pollIntervalMs: this.#pollIntervalMs,
        fsWatch: this.#fsWatch,
      });
      this.#hub.add(name, channel);
    }
    return channel.iterator();
  }

  /** A read for watch events: one snapshot shared by every watch of the secret (never handed to `get` callers). */
  #readShared(name: string): Secret | undefined {
    const secretDir = join(this.directory, name);
    try {
      return readSecretDirectorySync(secretDir, name, { followSecretLink: this.#followLinks });
    } catch (err) {
      throw toStoreIoError(err, 'get', secretDir);
    }
  }

  /** Ends every watch; later `watch` calls throw `CERTLOOP_CLOSED`. Reads and writes keep working. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const channel of [...this.#watches]) channel.end();
    this.#hub?.stop();
    this.#hub = undefined;
  }

  /** Runs `work` holding the secret's lock: first against writers in this process, then against other processes. */
  async #locked<T>(name: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const releaseLocal = await this.#writers.acquire(name, signal);
    try {
      const releaseFile = await acquireFileLock(name, {
        locksDir: join(this.directory, '.locks'),
        clock: this.#clock,
        timeoutMs: this.#lockTimeoutMs,
        staleMs: this.#staleLockMs,
        observations: this.#lockObservations,
        signal,
      });
      try {
        throwIfAborted(signal);
        return await work();
      } finally {
        // a lock we cannot remove goes stale and is broken by the next writer; the write itself stands
        await releaseFile().catch(() => undefined);
      }
    } catch (err) {
      throw toStoreIoError(err, 'write', join(this.directory, name));
    } finally {
      releaseLocal();
    }
  }
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', `FileSecretStore ${option} must be a positive number`, {
      details: { [option]: value },
    });
  }
  return value;
}
