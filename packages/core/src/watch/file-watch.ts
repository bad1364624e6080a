/**
 * Internal: one watch of one secret in a FileSecretStore directory.
 *
 * Change detection has two layers: `fs.watch` on the secret's directory (a `..data` swap, by certloop, another
 * process or a kubelet) and on its parent (the secret directory created, deleted, re-created) for prompt
 * events, and a poll on the injected clock as the fallback that catches whatever the first layer misses
 * (network filesystems, bind mounts, inotify limits). Either only triggers a check: resolve `..data`, and read
 * the secret only when that version differs from the last one reported, so nothing is reported twice. Checks
 * run one at a time; triggers during a check fold into one more check. Trouble is reported as `error` events
 * (once per distinct problem) and the watch keeps going.
 */
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { errnoCode, hasErrno } from '../lib/fs-errors.js';
import type { Secret } from '../secret/types.js';
import type { WatchChannel } from './watch-channel.js';

export interface FileWatchSource {
  /** The store's directory (the secret directory's parent). */
  readonly directory: string;
  readonly name: string;
  readonly clock: Clock;
  /** Cheap: the current version, or null when missing. */
  readVersion(): Promise<string | null>;
  /** The whole secret, or undefined when missing. */
  read(): Promise<Secret | undefined>;
  readonly pollIntervalMs: number;
  /** False to rely on polling alone. */
  readonly fsWatch: boolean;
}

interface OpenWatch {
  readonly watcher: FSWatcher;
  readonly path: string;
  /** Which directory it watches: see {@link identity}. */
  readonly id: string;
}

export class FileSecretWatch {
  readonly #source: FileWatchSource;
  readonly #channel: WatchChannel;
  #stopped = false;
  #checking = false;
  #again = false;
  #refreshWanted = true;
  #reported = false;
  #version: string | null = null;
  // the last problem reported, per kind, so a lasting one is reported once rather than on every poll
  readonly #problems = new Map<'read' | 'fs.watch', string>();
  #pollTimer: TimerHandle | undefined;
  #parentWatch: OpenWatch | undefined;
  #secretWatch: OpenWatch | undefined;

  constructor(source: FileWatchSource, channel: WatchChannel) {
    this.#source = source;
    this.#channel = channel;
  }

  /** Reads the initial state and starts watching. */
  start(): void {
    this.#requestCheck();
    this.#schedulePoll();
  }

  /** Stops every timer and fs watcher. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#pollTimer) this.#source.clock.clearTimeout(this.#pollTimer);
    this.#closeWatch(this.#parentWatch);
    this.#closeWatch(this.#secretWatch);
    this.#parentWatch = undefined;
    this.#secretWatch = undefined;
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    this.#pollTimer = this.#source.clock.setTimeout(() => {
      // the poll also re-checks that the fs watchers still watch the directories now at those paths
      this.#refreshWanted = true;
      this.#requestCheck();
      this.#schedulePoll();
    }, this.#source.pollIntervalMs);
  }

  #requestCheck(): void {
    if (this.#stopped) return;
    if (this.#checking) {
      this.#again = true;
      return;
    }
    this.#checking = true;
    // #check reports its own failures; this catches anything unforeseen so the watch still never goes silent
    this.#runChecks().catch((err: unknown) => this.#report(err, 'read'));
  }

  async #runChecks(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#check();
        // fs events need no refresh while both watchers are in place (a watcher whose directory went away
        // drops itself); the poll refreshes anyway, for what fs events cannot tell
        const missing = !this.#parentWatch || !this.#secretWatch;
        if (this.#source.fsWatch && !this.#stopped && (missing || this.#refreshWanted)) {
          this.#refreshWanted = false;
          await this.#refreshFsWatches();
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#checking = false;
    }
  }

  async #check(): Promise<void> {
    try {
      const version = await this.#source.readVersion();
      if (this.#reported && version === this.#version) {
        this.#problems.delete('read');
        return;
      }
      const secret = version === null ? undefined : await this.#source.read();
      if (this.#stopped) return;
      this.#channel.pushState(secret);
      this.#reported = true;
      this.#version = secret?.version ?? null;
      this.#problems.delete('read');
    } catch (err) {
      this.#report(err, 'read');
    }
  }

  /**
   * Keeps one fs watcher on the store directory (or, until it exists, on its parent) and one on the secret
   * directory, following them when replaced. A watcher opened now may have missed a change made just before,
   * so opening one asks for one more check.
   */
  async #refreshFsWatches(): Promise<void> {
    const { directory, name } = this.#source;
    const secretDir = join(directory, name);
    const [directoryId, secretId] = await Promise.all([identity(directory), identity(secretDir)]);
    const parentTarget =
      directoryId !== undefined
        ? { path: directory, id: directoryId, file: name }
        : { path: dirname(directory), id: await identity(dirname(directory)), file: basename(directory) };
    if (this.#stopped) return;
    let opened = false;
    if (
      this.#parentWatch &&
      (this.#parentWatch.path !== parentTarget.path || this.#parentWatch.id !== parentTarget.id)
    ) {
      this.#closeWatch(this.#parentWatch);
      this.#parentWatch = undefined;
    }
    if (!this.#parentWatch && parentTarget.id !== undefined) {
      const accept = (file: string) => file === parentTarget.file;
      this.#parentWatch = this.#open(parentTarget.path, parentTarget.id, accept);
      opened ||= this.#parentWatch !== undefined;
    }
    // a watcher on a renamed-away (deleted) directory would follow the old inode: replace it
    if (this.#secretWatch && this.#secretWatch.id !== secretId) {
      this.#closeWatch(this.#secretWatch);
      this.#secretWatch = undefined;
    }
    if (!this.#secretWatch && secretId !== undefined) {
      this.#secretWatch = this.#open(secretDir, secretId);
      opened ||= this.#secretWatch !== undefined;
    }
    if (opened) this.#again = true;
  }

  #open(path: string, id: string, accept?: (file: string) => boolean): OpenWatch | undefined {
    const self = basename(path);
    let open: OpenWatch | undefined;
    let watcher: FSWatcher;
    try {
      watcher = fsWatch(path, { persistent: false }, (_event, file) => {
        const name = file === null ? null : String(file);
        // an event named after the watched directory itself is its deletion or move: this watcher now sees
        // nothing more, and a directory re-created at once may even reuse its inode, so drop it for a new one
        if (name === self && open) this.#drop(open);
        if (!accept || name === null || name === self || accept(name)) this.#requestCheck();
      });
    } catch (err) {
      // gone meanwhile: the next check sees it and tries again
      if (!hasErrno(err, 'ENOENT', 'ENOTDIR')) this.#report(err, 'fs.watch');
      return undefined;
    }
    this.#problems.delete('fs.watch');
    const opened: OpenWatch = { watcher, path, id };
    open = opened;
    watcher.on('error', (err) => {
      this.#drop(opened);
      // polling carries on meanwhile, and its next check opens a new watcher
      this.#report(err, 'fs.watch');
    });
    return opened;
  }

  #drop(open: OpenWatch): void {
    this.#closeWatch(open);
    if (this.#parentWatch === open) this.#parentWatch = undefined;
    if (this.#secretWatch === open) this.#secretWatch = undefined;
  }

  #closeWatch(open: OpenWatch | undefined): void {
    try {
      open?.watcher.close();
    } catch {
      // already closed
    }
  }

  #report(err: unknown, operation: 'read' | 'fs.watch'): void {
    if (this.#stopped) return;
    const error =
      err instanceof CertloopError
        ? err
        : new CertloopError('CERTLOOP_WATCH_FAILED', `file watch: ${operation} failed for ${this.#source.name}`, {
            cause: err,
            details: { name: this.#source.name, operation, errno: errnoCode(err) },
          });
    const problem = `${error.code}:${error.message}`;
    if (this.#problems.get(operation) === problem) return;
    this.#problems.set(operation, problem);
    this.#channel.pushError(error);
  }
}

/**
 * A directory's identity: inode and birth time. The inode alone is not enough: a directory deleted and made
 * again at once often gets the same inode number, and a watcher on the old one would see nothing.
 */
async function identity(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? `${info.dev}:${info.ino}:${info.birthtimeMs}` : undefined;
  } catch {
    return undefined;
  }
}
