/**
 * Internal (not exported): an {@link Emitter} that delivers events one at a time, in order.
 *
 * An event emitted from inside a listener (say, a listener that stops the elector on `elected`) is queued until
 * every listener has seen the current one, so no listener can see `lost` before `elected`.
 */
import { Emitter } from '../lib/emitter.js';

export class OrderedEmitter<E> {
  readonly #emitter = new Emitter<E>();
  readonly #queue: E[] = [];
  #draining = false;

  subscribe(listener: (event: E) => void): () => void {
    return this.#emitter.subscribe(listener);
  }

  emit(event: E): void {
    this.#queue.push(event);
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) this.#emitter.emit(this.#queue.shift() as E);
    } finally {
      this.#draining = false;
    }
  }
}
