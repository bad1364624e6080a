/**
 * Internal: the watches of one FileSecretStore, all served by one hub, so that thousands of watched secrets cost
 * one set of fs watchers and one poll loop rather than a set and a timer each.
 *
 * Change detection has two layers. Prompt events come from `fs.watch`: one watcher on the store directory (a
 * secret directory created, deleted, re-created; or, until the store directory exists, one on its parent) and one
 * per watched secret directory (a `..data` swap, by certloop, another process or a kubelet), shared by every watch
 * of that secret. Behind them runs one poll loop on the injected clock, the safety net for whatever events miss
 * (network filesystems, bind mounts, inotify limits). It is adaptive: at `pollIntervalMs` while it is the only
 * layer (fs.watch off or failing) or has lately caught a change the events missed, otherwise at a longer interval
 * that grows with the number of watched secrets (at least 10 s, 2 ms per secret), and each round checks the
 * secrets in small batches, so a round never blocks the event loop.
 *
 * Either layer only triggers a check of one secret: resolve `..data`, and read the secret only when that version
 * differs from the last one reported, so nothing is reported twice and one read serves every watch of the
 * secret (they share the snapshot, as the Watcher contract allows). Checks of one secret run one at a time;
 * triggers during a check fold into one more check. Trouble is reported to that secret's watches as `error`
 * events (once per distinct problem) and the watch keeps going.
 */
import { type FSWatcher, watch as fsWatch, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { errnoCode, hasErrno } from '../lib/fs-errors.js';
import type { Secret } from '../secret/types.js';
import type { WatchChannel } from './watch-channel.js';

export interface FileWatchSource {
  /** The store's directory (the secret directories' parent). */
  readonly directory: string;
  readonly clock: Clock;
  /** Cheap and synchronous (a `readlink`): the current version of `name`, or null when missing. */
  readVersion(name: string): string | null;
  /** The whole secret, synchronously (small local files), or undefined when missing. */
  read(name: string): Secret | undefined;
  /** The poll interval while polling is the only layer (and the shortest one). */
  readonly pollIntervalMs: number;
  /** False to rely on polling alone. */
  readonly fsWatch: boolean;
}

/** The safety-net interval while fs events work: at least this, and this per watched secret. */
const SAFETY_MIN_MS = 10_000;
const SAFETY_PER_SECRET_MS = 2;
/** After the poll catches a change fs events missed, this many rounds run at `pollIntervalMs`. */
const MISSED_ROUNDS = 5;
/** Secrets checked at once by a poll round (and by a burst of store-directory events). */
const BATCH = 64;

interface OpenWatch {
  readonly watcher: FSWatcher;
  /** The directory's identity when opened: see {@link identity}. */
  readonly id: string;
}

type Problem = 'read' | 'fs.watch';

/** One watched secret: its watches, what they were last told, and its directory watcher. */
class WatchedSecret {
  readonly name: string;
  readonly channels = new Set<WatchChannel>();
  reported = false;
  /** A watch joined: read and push the state even when the version did not change (the others drop it). */
  reread = false;
  version: string | null = null;
  dirWatch: OpenWatch | undefined;
  /** The last problem reported, per kind, so a lasting one is reported once rather than on every poll. */
  problems: Map<Problem, string> | undefined;

  constructor(name: string) {
    this.name = name;
  }
}

export class FileWatchHub {
  readonly #source: FileWatchSource;
  readonly #secrets = new Map<string, WatchedSecret>();
  #stopped = false;
  #storeWatch: (OpenWatch & { readonly path: string }) | undefined;
  #storeWatchFailed = false;
  #pollTimer: TimerHandle | undefined;
  #fastRounds = 0;
  /** Secrets to check, drained in batches between event-loop turns; a secret queued twice is checked once. */
  readonly #queue = new Set<WatchedSecret>();
  #draining: NodeJS.Immediate | undefined;
  /** The poll round under way: the secrets it still has to check, and whether it found a missed change. */
  #round: { pending: number; missed: boolean } | undefined;
  readonly #inRound = new Set<WatchedSecret>();

  constructor(source: FileWatchSource) {
    this.#source = source;
  }

  /** How many secrets are watched (by one watch or more). */
  get size(): number {
    return this.#secrets.size;
  }

  /** Adds a watch of `name`: it gets the current state first, then every change. */
  add(name: string, channel: WatchChannel): void {
    if (this.#stopped) return;
    let entry = this.#secrets.get(name);
    if (!entry) {
      entry = new WatchedSecret(name);
      this.#secrets.set(name, entry);
      entry.channels.add(channel);
      if (this.#source.fsWatch && !this.#storeWatch) this.#refreshStoreWatch();
      this.#requestCheck(entry);
      this.#schedulePoll();
      return;
    }
    entry.channels.add(channel);
    // the hub keeps no copy of the secrets it watches (the files are the copy): read the state for the newcomer;
    // the watches already told drop it as a repeat
    entry.reread = true;
    this.#requestCheck(entry);
  }

  /** Removes one watch; the secret's watcher goes with its last watch, the poll loop with the last secret. */
  remove(name: string, channel: WatchChannel): void {
    const entry = this.#secrets.get(name);
    if (!entry?.channels.delete(channel) || entry.channels.size > 0) return;
    this.#secrets.delete(name);
    this.#queue.delete(entry);
    this.#inRound.delete(entry);
    closeWatch(entry.dirWatch);
    entry.dirWatch = undefined;
    if (this.#secrets.size === 0) this.#idle();
  }

  /** Stops every timer and fs watcher. Idempotent. */
  stop(): void {
    this.#stopped = true;
    for (const entry of this.#secrets.values()) {
      closeWatch(entry.dirWatch);
      entry.dirWatch = undefined;
    }
    this.#secrets.clear();
    this.#idle();
  }

  #idle(): void {
    this.#queue.clear();
    this.#inRound.clear();
    this.#round = undefined;
    if (this.#draining) clearImmediate(this.#draining);
    this.#draining = undefined;
    if (this.#pollTimer) this.#source.clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    closeWatch(this.#storeWatch);
    this.#storeWatch = undefined;
  }

  /** The poll interval now (see the module comment). */
  #interval(): number {
    const { pollIntervalMs, fsWatch: fsWatchOn } = this.#source;
    if (!fsWatchOn || this.#fastRounds > 0 || this.#storeWatchFailed || !this.#storeWatch) return pollIntervalMs;
    return Math.max(pollIntervalMs, SAFETY_MIN_MS, this.#secrets.size * SAFETY_PER_SECRET_MS);
  }

  #schedulePoll(): void {
    if (this.#stopped || this.#pollTimer || this.#round || this.#secrets.size === 0) return;
    this.#pollTimer = this.#source.clock.setTimeout(() => {
      this.#pollTimer = undefined;
      this.#startRound();
    }, this.#interval());
  }

  /** A poll round: every watched secret is queued for a check; the next round is scheduled once all ran. */
  #startRound(): void {
    if (this.#stopped || this.#secrets.size === 0) return;
    if (this.#source.fsWatch) this.#refreshStoreWatch();
    this.#round = { pending: this.#secrets.size, missed: false };
    for (const entry of this.#secrets.values()) {
      this.#inRound.add(entry);
      this.#requestCheck(entry);
    }
  }

  #finishRound(): void {
    const round = this.#round;
    if (!round) return;
    this.#round = undefined;
    if (round.missed && this.#source.fsWatch) this.#fastRounds = MISSED_ROUNDS;
    else if (this.#fastRounds > 0) this.#fastRounds--;
    this.#schedulePoll();
  }

  #requestCheck(entry: WatchedSecret): void {
    if (this.#stopped || !this.#secrets.has(entry.name)) return;
    this.#queue.add(entry);
    this.#draining ??= setImmediate(() => this.#drain());
  }

  /** Checks up to a batch of queued secrets, then yields to the event loop before the next batch. */
  #drain(): void {
    this.#draining = undefined;
    let done = 0;
    for (const entry of this.#queue) {
      if (done++ === BATCH) break;
      this.#queue.delete(entry);
      const inRound = this.#inRound.delete(entry);
      // a round also re-checks that the secret's watcher still watches the directory now at its path; the
      // watcher is opened before the look, so a change made meanwhile is either seen now or an event
      if (this.#source.fsWatch && (inRound || !entry.dirWatch)) this.#refreshDirWatch(entry);
      const watched = entry.dirWatch !== undefined && this.#storeWatch !== undefined;
      const { reported, version } = entry;
      this.#check(entry);
      if (inRound && this.#round) {
        // a change the poll found while both watchers were in place: fs events missed it here
        if (watched && reported && entry.version !== version) this.#round.missed = true;
        if (--this.#round.pending <= 0) this.#finishRound();
      }
    }
    if (this.#round && this.#inRound.size === 0) this.#finishRound();
    if (this.#queue.size > 0) this.#draining ??= setImmediate(() => this.#drain());
  }

  #check(entry: WatchedSecret): void {
    try {
      // a first look (or one for a newcomer) reads at once: the read resolves `..data` itself
      if (entry.reported && !entry.reread && this.#source.readVersion(entry.name) === entry.version) {
        entry.problems?.delete('read');
        return;
      }
      entry.reread = false;
      const secret = this.#source.read(entry.name);
      entry.reported = true;
      entry.version = secret?.version ?? null;
      entry.problems?.delete('read');
      for (const channel of entry.channels) channel.pushState(secret);
    } catch (err) {
      this.#report(entry, err, 'read');
    }
  }

  /**
   * Keeps one watcher on the store directory (or, until it exists, on its parent), following it when replaced.
   * Events there name a secret directory created, deleted or replaced: check that secret.
   */
  #refreshStoreWatch(): void {
    const { directory } = this.#source;
    const directoryId = identity(directory);
    const target =
      directoryId !== undefined
        ? { path: directory, id: directoryId, parent: false }
        : { path: dirname(directory), id: identity(dirname(directory)), parent: true };
    if (this.#stopped || this.#secrets.size === 0) return;
    const current = this.#storeWatch;
    if (current && current.path === target.path && current.id === target.id) return;
    closeWatch(current);
    this.#storeWatch = undefined;
    if (target.id === undefined) return;
    const self = basename(target.path);
    const storeName = basename(directory);
    let opened: (OpenWatch & { path: string }) | undefined;
    try {
      const watcher = fsWatch(target.path, { persistent: false }, (_event, file) => {
        const name = file === null ? null : String(file);
        if (name === self || (target.parent && name === storeName) || name === null) {
          // the watched directory went away or the store directory appeared: follow it, and check everything
          if (name === self && opened === this.#storeWatch) {
            closeWatch(opened);
            this.#storeWatch = undefined;
          }
          this.#refreshStoreWatch();
          this.#checkAll();
          return;
        }
        if (target.parent) return;
        const entry = this.#secrets.get(name);
        if (entry) {
          // a secret directory created or replaced: its watcher must follow the new directory
          this.#refreshDirWatch(entry);
          this.#requestCheck(entry);
        }
      });
      opened = { watcher, id: target.id, path: target.path };
      watcher.on('error', (err) => {
        closeWatch(opened);
        if (this.#storeWatch === opened) this.#storeWatch = undefined;
        this.#storeWatchFailed = true;
        this.#reportAll(err, 'fs.watch');
      });
    } catch (err) {
      if (!hasErrno(err, 'ENOENT', 'ENOTDIR')) {
        this.#storeWatchFailed = true;
        this.#reportAll(err, 'fs.watch');
      }
      return;
    }
    const replaced = current !== undefined;
    this.#storeWatch = opened;
    this.#storeWatchFailed = false;
    // a replacement opened now: whatever happened in between is seen by checking everything once (the first
    // one opens before any secret is first checked)
    if (replaced) this.#checkAll();
  }

  /** Checks every watched secret, in batches (after the store directory itself changed). */
  #checkAll(): void {
    for (const entry of this.#secrets.values()) this.#requestCheck(entry);
  }

  /**
   * Keeps the secret's watcher on the directory now at its path; true when it opened a new one (a watcher on a
   * renamed-away, deleted directory would follow the old inode).
   */
  #refreshDirWatch(entry: WatchedSecret): boolean {
    const path = join(this.#source.directory, entry.name);
    const id = identity(path);
    if (this.#stopped || !this.#secrets.has(entry.name)) return false;
    if (entry.dirWatch && entry.dirWatch.id === id) return false;
    closeWatch(entry.dirWatch);
    entry.dirWatch = undefined;
    if (id === undefined) return false;
    let open: OpenWatch | undefined;
    try {
      const watcher = fsWatch(path, { persistent: false }, (_event, file) => {
        // an event named after the watched directory itself is its deletion or move: this watcher now sees
        // nothing more, and a directory re-created at once may even reuse its inode, so drop it for a new one
        if (file !== null && String(file) === entry.name && open && entry.dirWatch === open) {
          closeWatch(open);
          entry.dirWatch = undefined;
        }
        this.#requestCheck(entry);
      });
      open = { watcher, id };
      watcher.on('error', (err) => {
        closeWatch(open);
        if (entry.dirWatch === open) entry.dirWatch = undefined;
        // polling carries on meanwhile, and its next round opens a new watcher
        this.#report(entry, err, 'fs.watch');
      });
    } catch (err) {
      // gone meanwhile: the next check sees it and tries again
      if (!hasErrno(err, 'ENOENT', 'ENOTDIR')) this.#report(entry, err, 'fs.watch');
      return false;
    }
    entry.problems?.delete('fs.watch');
    entry.dirWatch = open;
    return true;
  }

  #reportAll(err: unknown, operation: Problem): void {
    for (const entry of this.#secrets.values()) this.#report(entry, err, operation);
  }

  #report(entry: WatchedSecret, err: unknown, operation: Problem): void {
    if (this.#stopped) return;
    const error =
      err instanceof CertloopError
        ? err
        : new CertloopError('CERTLOOP_WATCH_FAILED', `file watch: ${operation} failed for ${entry.name}`, {
            cause: err,
            details: { name: entry.name, operation, errno: errnoCode(err) },
          });
    const problem = `${error.code}:${error.message}`;
    entry.problems ??= new Map();
    if (entry.problems.get(operation) === problem) return;
    entry.problems.set(operation, problem);
    for (const channel of entry.channels) channel.pushError(error);
  }
}

function closeWatch(open: OpenWatch | undefined): void {
  try {
    open?.watcher.close();
  } catch {
    // already closed
  }
}

/**
 * A directory's identity: inode and birth time. The inode alone is not enough: a directory deleted and made
 * again at once often gets the same inode number, and a watcher on the old one would see nothing. Synchronous:
 * one `stat` (microseconds), so that a watcher is in place before the look it guards.
 */
function identity(path: string): string | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false });
    return info?.isDirectory() ? `${info.dev}:${info.ino}:${info.birthtimeMs}` : undefined;
  } catch {
    return undefined;
  }
}
