/**
 * `@certloop/k8s-store` Subscription: one `watch(name)` iterator fed by the shared cache. Events queue in order;
 * `return()`, the signal or the store's `close()` end it (a waiting `next()` resolves done). Internal.
 */
import type { WatchEvent } from '@certloop/core';

export class Subscription implements AsyncIterableIterator<WatchEvent> {
  readonly name: string;
  /** True once `initial` was queued. */
  started = false;
  #queue: WatchEvent[] = [];
  #head = 0;
  #waiting: ((result: IteratorResult<WatchEvent>) => void) | undefined;
  #done = false;
  readonly #onEnd: (sub: Subscription) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.end();

  constructor(name: string, signal: AbortSignal | undefined, onEnd: (sub: Subscription) => void) {
    this.name = name;
    this.#onEnd = onEnd;
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
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
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onEnd(this);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head++]!;
      if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
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
