/**
 * `@certloop/k8s-store` SecretCache: the informer's store and fan-out (client-go's `store.go` plus
 * `shared_informer.go`). It holds the last state of every Secret the reflector lists and watches, and hands each
 * change to the `watch(name)` subscriptions of that name. It emits only real differences: an event at a
 * resourceVersion already held is dropped, and after a re-list only what changed (`updated`) or vanished
 * (`deleted`) is emitted. The reflector starts with the first subscription. Internal.
 *
 * Memory: each Secret is held packed (`packed-secret.ts`), one exact-size buffer per version and no other object.
 * An event's `Secret` is built from it when the event is emitted, once per event, and shared read-only by that
 * event's subscribers (its data values are views of the held buffer, never copies); so the V8 heap holds a
 * `Secret`'s objects only while a consumer keeps them.
 */
import type { CertloopError, Clock, Secret, WatchEvent } from '@certloop/core';
import type { KubeClient } from './kube-client.js';
import { ownPacked, packedVersion, unpackSecret } from './packed-secret.js';
import { Reflector, type ReflectorEventType, type ReflectorTimings } from './reflector.js';
import { labelSelectorText } from './selector.js';
import { Subscription } from './subscription.js';

export interface SecretCacheOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly labelSelector?: Readonly<Record<string, string>>;
  readonly timings?: ReflectorTimings;
  readonly clock: Clock;
}

export class SecretCache {
  /** The packed form of each Secret (see `packed-secret.ts`), read-only once held. */
  readonly #items = new Map<string, Buffer>();
  /** During a LIST: the names listed so far, and the items whose version differs from the held one (copies). */
  #listed: Set<string> | undefined;
  #staged: Map<string, Buffer> | undefined;
  /** The subscriptions of each name: the one subscription itself (the usual case, no Set per name), or a Set. */
  readonly #subs = new Map<string, Subscription | Set<Subscription>>();
  readonly #reflector: Reflector;
  #synced = false;
  #started = false;
  #closed = false;
  /** Changes handed to subscribers (after de-duplication), for benchmarks. */
  delivered = 0;

  constructor(options: SecretCacheOptions) {
    this.#reflector = new Reflector({
      client: options.client,
      namespace: options.namespace,
      labelSelector: labelSelectorText(options.labelSelector),
      timings: options.timings,
      clock: options.clock,
      handler: {
        listing: () => this.#listing(),
        listed: (name, packed) => this.#listedItem(name, packed),
        replace: () => this.#replace(),
        apply: (type, name, packed) => this.#apply(type, name, packed),
        error: (err) => this.#error(err),
      },
    });
  }

  get reflector(): Reflector {
    return this.#reflector;
  }

  /** True once the first LIST has been applied. */
  get synced(): boolean {
    return this.#synced;
  }

  /** The cached state of `name` (`secret` undefined when missing), or undefined before the first sync. */
  peek(name: string): { readonly secret: Secret | undefined } | undefined {
    return this.#synced && !this.#closed ? { secret: this.#secret(name) } : undefined;
  }

  /** How many Secrets the cache holds. */
  get size(): number {
    return this.#items.size;
  }

  subscribe(name: string, signal: AbortSignal | undefined, closed: boolean): Subscription {
    const sub = new Subscription(name, signal, this.#owner);
    if (closed || this.#closed || signal?.aborted) {
      sub.end();
      return sub;
    }
    const held = this.#subs.get(name);
    if (!held) this.#subs.set(name, sub);
    else if (held instanceof Set) held.add(sub);
    else this.#subs.set(name, new Set([held, sub]));
    if (this.#synced) sub.push({ type: 'initial', name, secret: this.#secret(name) });
    if (!this.#started) {
      this.#started = true;
      this.#reflector.start();
    }
    return sub;
  }

  readonly #owner = { unsubscribe: (sub: Subscription) => this.#unsubscribe(sub) };

  #unsubscribe(sub: Subscription): void {
    const held = this.#subs.get(sub.name);
    if (held === sub) this.#subs.delete(sub.name);
    else if (held instanceof Set) {
      held.delete(sub);
      if (held.size === 1) this.#subs.set(sub.name, held.values().next().value as Subscription);
    }
  }

  /** A fresh `Secret` from the held bytes of `name`, or undefined when none is held. */
  #secret(name: string): Secret | undefined {
    const held = this.#items.get(name);
    return held && unpackSecret(name, held);
  }

  /** Emits a change of `name` to its started subscriptions; the event (and its `Secret`) is built only if any. */
  #emit(name: string, type: 'updated' | 'deleted'): void {
    const held = this.#subs.get(name);
    if (!held) return;
    this.delivered += 1;
    let event: WatchEvent | undefined;
    for (const sub of each(held)) {
      if (!sub.started) continue;
      event ??= type === 'deleted' ? { type, name } : { type, name, secret: this.#secret(name)! };
      sub.push(event);
    }
  }

  #listing(): void {
    this.#listed = new Set();
    this.#staged = new Map();
  }

  #listedItem(name: string, packed: Buffer): void {
    this.#listed?.add(name);
    const held = this.#items.get(name);
    // unchanged since held: nothing to copy (a resync of 10,000 Secrets copies only what changed)
    if (held && packedVersion(held) === packedVersion(packed)) return;
    this.#staged?.set(name, ownPacked(packed));
  }

  #replace(): void {
    const listed = this.#listed ?? new Set<string>();
    const staged = this.#staged ?? new Map<string, Buffer>();
    this.#listed = undefined;
    this.#staged = undefined;
    for (const [name, packed] of staged) this.#set(name, packed, true);
    for (const name of [...this.#items.keys()]) {
      if (!listed.has(name)) {
        this.#items.delete(name);
        this.#emit(name, 'deleted');
      }
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const [name, held] of this.#subs) {
        let event: WatchEvent | undefined;
        for (const sub of each(held)) {
          if (sub.started) continue;
          event ??= { type: 'initial', name, secret: this.#secret(name) };
          sub.push(event);
        }
      }
    }
  }

  /**
   * Holds `packed` as the state of `name` unless its version is the held one. `owned`: `packed` is an `ownPacked`
   * copy (kept as is); otherwise it is the reflector's scratch, copied.
   */
  #set(name: string, packed: Buffer, owned: boolean): void {
    const held = this.#items.get(name);
    if (held && packedVersion(held) === packedVersion(packed)) return;
    this.#items.set(name, owned ? packed : ownPacked(packed));
    if (this.#synced) this.#emit(name, 'updated');
  }

  #apply(type: ReflectorEventType, name: string, packed: Buffer): void {
    if (type === 'DELETED') {
      if (this.#items.delete(name)) this.#emit(name, 'deleted');
      return;
    }
    this.#set(name, packed, false);
  }

  #error(err: CertloopError): void {
    for (const [name, held] of this.#subs) {
      const event: WatchEvent = { type: 'error', name, error: err };
      for (const sub of each(held)) sub.push(event);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const held of [...this.#subs.values()]) for (const sub of [...each(held)]) sub.end();
    this.#subs.clear();
    await this.#reflector.stop();
  }
}

function each(held: Subscription | Set<Subscription>): Iterable<Subscription> {
  return held instanceof Set ? held : [held];
}
