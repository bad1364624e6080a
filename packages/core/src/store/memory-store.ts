/**
 * `@certloop/core` MemorySecretStore: a SecretStore and Watcher held in process memory.
 *
 * For tests, demos and single-process setups. Every operation is atomic (it commits synchronously), versions
 * are a store-wide counter (so a deleted and re-created secret never reuses a version), and every secret handed
 * out by `get`, `list` or `put` is a deep copy. Watch events carry the stored snapshot itself, read-only per the
 * Watcher contract: one write costs one copy however many watch it.
 */
import { CertloopError, throwIfAborted } from '../errors.js';
import type { WatchEvent, Watcher, WatchOptions } from '../watch/types.js';
import { WatchChannel } from '../watch/watch-channel.js';
import { assertSecretInput, assertSecretName } from './names.js';
import {
  checkExpectedVersion,
  copySecret,
  copySecretLazily,
  matchesLabelSelector,
  secretFromInput,
  sortByName,
} from './secret-utils.js';
import type {
  DeleteOptions,
  ListOptions,
  PutOptions,
  Secret,
  SecretInput,
  SecretStore,
  StoreCallOptions,
} from './types.js';

export class MemorySecretStore implements SecretStore, Watcher {
  readonly #secrets = new Map<string, Secret>();
  // one channel per name is the common case: a Set only when a name has several watches
  readonly #watches = new Map<string, WatchChannel | Set<WatchChannel>>();
  #lastVersion = 0;
  #closed = false;

  async get(name: string, options: StoreCallOptions = {}): Promise<Secret | undefined> {
    assertSecretName(name);
    throwIfAborted(options.signal);
    const secret = this.#secrets.get(name);
    return secret && copySecret(secret);
  }

  async put(name: string, input: SecretInput, options: PutOptions = {}): Promise<Secret> {
    assertSecretName(name);
    const normalized = assertSecretInput(input);
    throwIfAborted(options.signal);
    const current = this.#secrets.get(name);
    checkExpectedVersion(name, current, options.expectedVersion);
    const secret = secretFromInput(name, normalized, String(++this.#lastVersion));
    this.#secrets.set(name, secret);
    this.#notify(name, secret);
    return copySecretLazily(secret);
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<boolean> {
    assertSecretName(name);
    throwIfAborted(options.signal);
    const current = this.#secrets.get(name);
    // a missing secret is already deleted, whatever version the caller last saw
    if (!current) return false;
    checkExpectedVersion(name, current, options.expectedVersion);
    this.#secrets.delete(name);
    this.#notify(name, undefined);
    return true;
  }

  async list(options: ListOptions = {}): Promise<Secret[]> {
    throwIfAborted(options.signal);
    const found: Secret[] = [];
    for (const secret of this.#secrets.values()) {
      if (matchesLabelSelector(secret.labels, options.labelSelector)) found.push(copySecret(secret));
    }
    return sortByName(found);
  }

  /**
   * Yields `initial` with the current state, then `updated` and `deleted` as writes happen. Throws
   * `CERTLOOP_CLOSED` after {@link close}.
   */
  watch(name: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    assertSecretName(name);
    if (this.#closed) throw new CertloopError('CERTLOOP_CLOSED', 'the store was closed');
    const channel = new WatchChannel(name, this.#release, options.signal);
    if (channel.ended) return channel.iterator();
    const watching = this.#watches.get(name);
    if (!watching) this.#watches.set(name, channel);
    else if (watching instanceof Set) watching.add(channel);
    else this.#watches.set(name, new Set([watching, channel]));
    channel.pushState(this.#secrets.get(name));
    return channel.iterator();
  }

  /** Ends every watch; later `watch` calls throw `CERTLOOP_CLOSED`. Reads and writes keep working. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const watching of [...this.#watches.values()]) {
      if (watching instanceof Set) for (const channel of [...watching]) channel.end();
      else watching.end();
    }
  }

  // one function for every channel, rather than a closure per watch
  readonly #release = (channel: WatchChannel): void => {
    const watching = this.#watches.get(channel.name);
    if (watching === channel) this.#watches.delete(channel.name);
    else if (watching instanceof Set && watching.delete(channel) && watching.size === 0) {
      this.#watches.delete(channel.name);
    }
  };

  #notify(name: string, secret: Secret | undefined): void {
    const watching = this.#watches.get(name);
    if (watching instanceof Set) for (const channel of watching) channel.pushState(secret);
    else watching?.pushState(secret);
  }
}
