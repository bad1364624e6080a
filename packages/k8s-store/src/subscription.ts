/**
 * `@certloop/k8s-store` Subscription: one `watch(name)` iterator fed by the shared cache. Events queue in order;
 * `return()`, the signal or the store's `close()` end it (a waiting `next()` resolves done). Internal.
 */
import type { WatchEvent } from '@certloop/core';
import { onAbort } from '@certloop/core/base';

/** Who is told when a subscription ends (the cache; one object for all its subscriptions, no closure per watch). */
export interface SubscriptionOwner {
  unsubscribe(sub: Subscription): void;
}

export class Subscription implements AsyncIterableIterator<WatchEvent> {
  readonly name: string;
  /** True once `initial` was queued. */
  started = false;
  #queue: WatchEvent[] = [];
  #head = 0;
  #waiting: ((result: IteratorResult<WatchEvent>) => void) | undefined;
  #done = false;
  readonly #owner: SubscriptionOwner;
  readonly #offAbort: (() => void) | undefined;

  constructor(name: string, signal: AbortSignal | undefined, owner: SubscriptionOwner) {
    this.name = name;
    this.#owner = owner;
    // the subscription itself is the abort listener (`handleEvent`): no closure per watch; and one native listener
    // per signal however many watches share it (Node warns past 10)
    this.#offAbort = signal && !signal.aborted ? onAbort(signal, this) : undefined;
  }

  /** The signal's abort (EventListener object protocol). */
  handleEvent(): void {
    this.end();
  }

  get done(): boolean {
    return this.#done;
  }

  push(event: WatchEvent): void {
    if (this.#done) return;
    if (event.type === 'initial') this.started = true;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value: event, done: false });
    } else this.#queue.push(event);
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#queue = [];
    this.#head = 0;
    this.#offAbort?.();
    this.#owner.unsubscribe(this);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head]!;
      // drop the queue's hold on delivered events: a consumed snapshot must not outlive its replacement
      this.#queue[this.#head++] = undefined as unknown as WatchEvent;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent> {
    return this;
  }
}
