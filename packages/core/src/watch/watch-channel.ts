/**
 * Internal: the consumer side of one watch. Producers push states and errors; the consumer pulls events
 * through an async iterator. A slow consumer never makes the producer wait or the memory grow: undelivered
 * states coalesce to the latest one, and a state equal to the last one delivered is dropped, so no duplicate
 * is ever reported and the last state yielded is always the latest state pushed.
 */
import type { CertloopError } from '../errors.js';
import type { Secret } from '../store/types.js';
import type { WatchEvent } from './types.js';

// Errors are informational; a flood of them keeps only the newest few.
const MAX_PENDING_ERRORS = 16;

type Waiter = (result: IteratorResult<WatchEvent, undefined>) => void;

export class WatchChannel {
  readonly name: string;
  #pendingState: { secret: Secret | undefined } | undefined;
  readonly #pendingErrors: WatchEvent[] = [];
  readonly #waiters: Waiter[] = [];
  #initialDelivered = false;
  // version of the last state delivered; null when it was "missing"
  #deliveredVersion: string | null = null;
  #ended = false;
  readonly #onEnd: () => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.end();

  /**
   * `onEnd` runs once when the channel ends (by `end`, `return()` or the signal), to release the producer.
   * With a signal already aborted the channel starts ended and `onEnd` never runs: check `ended` before
   * registering a producer.
   */
  constructor(name: string, onEnd: () => void, signal?: AbortSignal) {
    this.name = name;
    this.#onEnd = onEnd;
    this.#signal = signal;
    if (signal?.aborted) this.#ended = true;
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Records the secret's current state (`undefined` when missing). The caller gives up ownership of `secret`. */
  pushState(secret: Secret | undefined): void {
    if (this.#ended) return;
    this.#pendingState = { secret };
    this.#deliver();
  }

  pushError(error: CertloopError): void {
    if (this.#ended) return;
    this.#pendingErrors.push({ type: 'error', name: this.name, error });
    if (this.#pendingErrors.length > MAX_PENDING_ERRORS) this.#pendingErrors.shift();
    this.#deliver();
  }

  /** Ends the iteration: pending and future `next()` calls resolve done. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#pendingState = undefined;
    this.#pendingErrors.length = 0;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const waiter of this.#waiters.splice(0)) waiter({ done: true, value: undefined });
    this.#onEnd();
  }

  iterator(): AsyncIterableIterator<WatchEvent, undefined> {
    const iterator: AsyncIterableIterator<WatchEvent, undefined> = {
      next: () => this.#next(),
      return: async () => {
        this.end();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #next(): Promise<IteratorResult<WatchEvent, undefined>> {
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    const event = this.#take();
    if (event) return Promise.resolve({ done: false, value: event });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #deliver(): void {
    while (this.#waiters.length > 0) {
      const event = this.#take();
      if (!event) return;
      this.#waiters.shift()!({ done: false, value: event });
    }
  }

  #take(): WatchEvent | undefined {
    const error = this.#pendingErrors.shift();
    if (error) return error;
    const pending = this.#pendingState;
    if (!pending) return undefined;
    this.#pendingState = undefined;
    const { secret } = pending;
    const version = secret?.version ?? null;
    if (!this.#initialDelivered) {
      this.#initialDelivered = true;
      this.#deliveredVersion = version;
      return { type: 'initial', name: this.name, secret };
    }
    if (version === this.#deliveredVersion) return undefined;
    this.#deliveredVersion = version;
    return secret ? { type: 'updated', name: this.name, secret } : { type: 'deleted', name: this.name };
  }
}
