/**
 * `@certloop/core` Watcher contract: a stream of a secret's states.
 */
import type { CertloopError } from '../errors.js';
import type { Secret } from '../secret/types.js';

/** A state change of one watched secret. */
export type WatchEvent =
  /** Always first: the state when the watch started (`secret` undefined when missing). */
  | { readonly type: 'initial'; readonly name: string; readonly secret: Secret | undefined }
  /** The secret was created or changed; `secret` is the new state. */
  | { readonly type: 'updated'; readonly name: string; readonly secret: Secret }
  /** The secret was removed. */
  | { readonly type: 'deleted'; readonly name: string }
  /** The watch hit a problem and is recovering by itself (reconnect, re-list); informational. */
  | { readonly type: 'error'; readonly name: string; readonly error: CertloopError };

export interface WatchOptions {
  /** Ends the iteration (the iterator returns) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Contract:
 * - `watch(name)` yields the current state first (`initial`), then every change in order. Bursts may be
 *   coalesced to the latest state, but the last state yielded is always the latest state of the secret, and
 *   a state equal to the last one yielded is not yielded again. `initial` is the first state event; `error`
 *   events may come before it when the first read fails (the watch keeps trying).
 * - It survives backend disconnects by itself (reconnect, re-list, periodic resync) and never silently stops:
 *   problems are reported as `error` events while it recovers; iteration ends only on `signal` abort,
 *   `return()` of the iterator, or `close()`.
 * - Several watches of the same or different names may run at once. `close()` ends them all and is idempotent.
 * - Event secrets are read-only snapshots: an adapter may hand the same object to every watcher of that version
 *   and keep it as its own state (as client-go informers share their cache), so one write costs one copy
 *   however many watch it. Never mutate an event's secret, its maps or its bytes; copy what you need to change
 *   (`structuredClone(event.secret)`). A secret from `get`, `list` or `put` is always the caller's own copy.
 */
export interface Watcher {
  watch(name: string, options?: WatchOptions): AsyncIterableIterator<WatchEvent>;
  close(): Promise<void>;
}
