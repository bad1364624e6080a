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
        held: (name) => this.#items.get(name),
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
    const sub = new Subscription(name, signal, this.#owner);
    if (closed || this.#closed || signal?.aborted) {
      sub.end();
      return sub;
    }
    const held = this.#subs.get(name);
    if (!held) this.#subs.set(name, sub);
    else if (held instanceof Set) held.add(sub);
    else this.#subs.set(name, new Set([held, sub]));
    if (this.#synced) sub.push({ type: 'initial', name, secret: this.#items.get(name) });
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

  #emit(name: string, event: WatchEvent): void {
    const held = this.#subs.get(name);
    if (!held) return;
    this.delivered += 1;
    for (const sub of each(held)) if (sub.started) sub.push(event);
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
      for (const [name, held] of this.#subs) {
        for (const sub of each(held))
          if (!sub.started) sub.push({ type: 'initial', name, secret: this.#items.get(name) });
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
