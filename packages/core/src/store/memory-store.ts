/**
 * `@certloop/core` MemorySecretStore: a SecretStore and Watcher held in process memory.
 *
 * For tests, demos and single-process setups. Every operation is atomic (it commits synchronously), versions
 * are a store-wide counter (so a deleted and re-created secret never reuses a version), and every secret handed
 * out, by `get`, `list`, `put` or a watch event, is a deep copy.
 */
import { CertloopError, throwIfAborted } from '../errors.js';
import type { WatchEvent, Watcher, WatchOptions } from '../watch/types.js';
import { WatchChannel } from '../watch/watch-channel.js';
import { assertSecretInput, assertSecretName } from './names.js';
import { checkExpectedVersion, copySecret, matchesLabelSelector, secretFromInput, sortByName } from './secret-utils.js';
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
  readonly #watches = new Map<string, Set<WatchChannel>>();
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
    return copySecret(secret);
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
    const channel = new WatchChannel(name, () => this.#unregister(channel), options.signal);
    if (channel.ended) return channel.iterator();
    let channels = this.#watches.get(name);
    if (!channels) {
      channels = new Set();
      this.#watches.set(name, channels);
    }
    channels.add(channel);
    const current = this.#secrets.get(name);
    channel.pushState(current && copySecret(current));
    return channel.iterator();
  }

  /** Ends every watch; later `watch` calls throw `CERTLOOP_CLOSED`. Reads and writes keep working. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const channels of [...this.#watches.values()]) for (const channel of [...channels]) channel.end();
  }

  #unregister(channel: WatchChannel): void {
    const channels = this.#watches.get(channel.name);
    channels?.delete(channel);
    if (channels?.size === 0) this.#watches.delete(channel.name);
  }

  #notify(name: string, secret: Secret | undefined): void {
    const channels = this.#watches.get(name);
    if (!channels) return;
    for (const channel of [...channels]) channel.pushState(secret && copySecret(secret));
  }
}
