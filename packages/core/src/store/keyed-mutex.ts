/**
 * Internal: one FIFO mutex per key, within a process. FileSecretStore takes it before the file lock so that
 * writers in the same process queue here (no polling) and only writers in other processes meet at the file.
 */

import { abortError, throwIfAborted } from '../errors.js';
import { onAbort } from '../lib/abort-fanout.js';

export class KeyedMutex {
  // a key is present while held; its array holds the waiters in arrival order
  readonly #queues = new Map<string, Array<() => void>>();

  /** Resolves the release function once `key` is ours; rejects with `CERTLOOP_ABORTED` on `signal`. */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal);
    const queue = this.#queues.get(key);
    if (!queue) {
      this.#queues.set(key, []);
    } else {
      await new Promise<void>((resolve, reject) => {
        const abort = () => {
          const index = queue.indexOf(grant);
          if (index >= 0) queue.splice(index, 1);
          reject(abortError(signal));
        };
        const grant = () => {
          off?.();
          resolve();
        };
        queue.push(grant);
        // one native listener per signal, however many writes wait under it
        const off = signal ? onAbort(signal, abort) : undefined;
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(key);
    };
  }

  #release(key: string): void {
    const next = this.#queues.get(key)?.shift();
    if (next) next();
    else this.#queues.delete(key);
  }
}
