/**
 * `@certloop/k8s-store` SecretCache: the informer's store and fan-out (client-go's `store.go` plus
 * `shared_informer.go`). It holds the last state of every Secret the reflector lists and watches, and hands each
 * change to the `watch(name)` subscriptions of that name. It emits only real differences: an event at a
 * resourceVersion already held is dropped, and after a re-list only what changed (`updated`) or vanished
 * (`deleted`) is emitted. Snapshots are shared read-only among subscribers. The reflector starts with the first
 * subscription. Internal.
 */
import type { CertloopError, Clock, Secret, WatchEvent } from '@certloop/core';
import type { KubeClient } from './kube-client.js';
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
  readonly #items = new Map<string, Secret>();
  readonly #subs = new Map<string, Set<Subscription>>();
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
        replace: (items) => this.#replace(items),
        apply: (type, secret) => this.#apply(type, secret),
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
    return this.#synced && !this.#closed ? { secret: this.#items.get(name) } : undefined;
  }

  /** How many Secrets the cache holds. */
  get size(): number {
    return this.#items.size;
  }

  subscribe(name: string, signal: AbortSignal | undefined, closed: boolean): Subscription {
    const sub = new Subscription(name, signal, (s) => this.#unsubscribe(s));
    if (closed || this.#closed || signal?.aborted) {
      sub.end();
      return sub;
    }
    let set = this.#subs.get(name);
    if (!set) {
      set = new Set();
      this.#subs.set(name, set);
    }
    set.add(sub);
    if (this.#synced) sub.push({ type: 'initial', name, secret: this.#items.get(name) });
    if (!this.#started) {
      this.#started = true;
      this.#reflector.start();
    }
    return sub;
  }

  #unsubscribe(sub: Subscription): void {
    const set = this.#subs.get(sub.name);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) this.#subs.delete(sub.name);
  }

  #emit(name: string, event: WatchEvent): void {
    const set = this.#subs.get(name);
    if (!set) return;
    this.delivered += 1;
    for (const sub of set) if (sub.started) sub.push(event);
  }

  #replace(items: Secret[]): void {
    const seen = new Set<string>();
    for (const secret of items) {
      seen.add(secret.name);
      this.#set(secret);
    }
    for (const name of [...this.#items.keys()]) {
      if (!seen.has(name)) {
        this.#items.delete(name);
        this.#emit(name, { type: 'deleted', name });
      }
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const [name, set] of this.#subs) {
        for (const sub of set) if (!sub.started) sub.push({ type: 'initial', name, secret: this.#items.get(name) });
      }
    }
  }

  #set(secret: Secret): void {
    const held = this.#items.get(secret.name);
    if (held?.version === secret.version) return;
    this.#items.set(secret.name, secret);
    if (this.#synced) this.#emit(secret.name, { type: 'updated', name: secret.name, secret });
  }

  #apply(type: ReflectorEventType, secret: Secret): void {
    if (type === 'DELETED') {
      if (this.#items.delete(secret.name)) this.#emit(secret.name, { type: 'deleted', name: secret.name });
      return;
    }
    this.#set(secret);
  }

  #error(err: CertloopError): void {
    for (const [name, set] of this.#subs) {
      const event: WatchEvent = { type: 'error', name, error: err };
      for (const sub of set) sub.push(event);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const set of [...this.#subs.values()]) for (const sub of [...set]) sub.end();
    this.#subs.clear();
    await this.#reflector.stop();
  }
}
