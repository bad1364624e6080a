/**
 * Internal: the consumer side of one watch. Producers push states and errors; the consumer pulls events
 * through an async iterator. A slow consumer never makes the producer wait or the memory grow: undelivered
 * states coalesce to the latest one, and a state equal to the last one delivered is dropped, so no duplicate
 * is ever reported and the last state yielded is always the latest state pushed.
 *
 * A process may hold thousands of channels, so each one is kept small: no closure but its abort listener (only
 * with a signal), arrays only while something is queued, an iterator sharing its methods through a prototype,
 * and a secret pushed is handed on as is (the producer decides what to share).
 */

import type { CertloopError } from '../errors.js';
import { onAbort } from '../lib/abort-fanout.js';
import type { Secret } from '../secret/types.js';
import type { WatchEvent } from './types.js';

// Errors are informational; a flood of them keeps only the newest few.
const MAX_PENDING_ERRORS = 16;

// Marks "no state pending" and "nothing delivered yet" (a state itself may be `undefined`: missing).
const NONE: unique symbol = Symbol('none');

type Waiter = (result: IteratorResult<WatchEvent, undefined>) => void;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

export class WatchChannel {
  readonly name: string;
  #pendingState: Secret | undefined | typeof NONE = NONE;
  #pendingErrors: WatchEvent[] | undefined;
  // usually zero or one waiting `next()`; an array only when a consumer calls `next()` again before it settles
  #waiters: Waiter | Waiter[] | undefined;
  // version of the last state delivered, null when it was "missing", NONE before `initial`
  #deliveredVersion: string | null | typeof NONE = NONE;
  #ended = false;
  readonly #onEnd: (channel: WatchChannel) => void;
  /** Unsubscribes from the signal (one native listener per signal, shared by every channel on it). */
  readonly #offAbort: (() => void) | undefined;

  /**
   * `onEnd` runs once, with this channel, when the channel ends (by `end`, `return()` or the signal), to
   * release the producer. With a signal already aborted the channel starts ended and `onEnd` never runs:
   * check `ended` before registering a producer.
   */
  constructor(name: string, onEnd: (channel: WatchChannel) => void, signal?: AbortSignal) {
    this.name = name;
    this.#onEnd = onEnd;
    if (signal?.aborted) this.#ended = true;
    else if (signal) this.#offAbort = onAbort(signal, () => this.end());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Records the secret's current state (`undefined` when missing). The channel keeps `secret` until it is
   * delivered and hands that same object to the consumer: the producer gives a snapshot it will not change.
   */
  pushState(secret: Secret | undefined): void {
    if (this.#ended) return;
    this.#pendingState = secret;
    this.#deliver();
  }

  pushError(error: CertloopError): void {
    if (this.#ended) return;
    this.#pendingErrors ??= [];
    const errors = this.#pendingErrors;
    errors.push({ type: 'error', name: this.name, error });
    if (errors.length > MAX_PENDING_ERRORS) errors.shift();
    this.#deliver();
  }

  /** Ends the iteration: pending and future `next()` calls resolve done. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#pendingState = NONE;
    this.#pendingErrors = undefined;
    this.#offAbort?.();
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (typeof waiters === 'function') waiters(DONE);
    else if (waiters) for (const waiter of waiters) waiter(DONE);
    this.#onEnd(this);
  }

  iterator(): AsyncIterableIterator<WatchEvent, undefined> {
    return new WatchIterator(this);
  }

  /** The iterator's `next()`. */
  next(): Promise<IteratorResult<WatchEvent, undefined>> {
    if (this.#ended) return Promise.resolve(DONE);
    const event = this.#take();
    if (event) return Promise.resolve({ done: false, value: event });
    return new Promise((resolve) => this.#addWaiter(resolve));
  }

  #addWaiter(waiter: Waiter): void {
    const waiters = this.#waiters;
    if (waiters === undefined) this.#waiters = waiter;
    else if (typeof waiters === 'function') this.#waiters = [waiters, waiter];
    else waiters.push(waiter);
  }

  #shiftWaiter(): Waiter | undefined {
    const waiters = this.#waiters;
    if (typeof waiters !== 'object') {
      this.#waiters = undefined;
      return waiters;
    }
    const waiter = waiters.shift();
    if (waiters.length === 0) this.#waiters = undefined;
    return waiter;
  }

  #deliver(): void {
    while (this.#waiters !== undefined) {
      const event = this.#take();
      if (!event) return;
      this.#shiftWaiter()!({ done: false, value: event });
    }
  }

  #take(): WatchEvent | undefined {
    const error = this.#pendingErrors?.shift();
    if (error) return error;
    const secret = this.#pendingState;
    if (secret === NONE) return undefined;
    this.#pendingState = NONE;
    const version = secret?.version ?? null;
    const delivered = this.#deliveredVersion;
    this.#deliveredVersion = version;
    if (delivered === NONE) return { type: 'initial', name: this.name, secret };
    if (version === delivered) return undefined;
    return secret ? { type: 'updated', name: this.name, secret } : { type: 'deleted', name: this.name };
  }
}

/** The consumer's view of a channel: only the iterator protocol, with methods shared through the prototype. */
class WatchIterator implements AsyncIterableIterator<WatchEvent, undefined> {
  readonly #channel: WatchChannel;

  constructor(channel: WatchChannel) {
    this.#channel = channel;
  }

  next(): Promise<IteratorResult<WatchEvent, undefined>> {
    return this.#channel.next();
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    this.#channel.end();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
