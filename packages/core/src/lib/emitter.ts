/**
 * `@certloop/core` Emitter: a tiny typed event emitter (exported so the other certloop packages share it).
 * `subscribe` returns the unsubscribe function. A listener that throws never breaks delivery to the others.
 */
export type Listener<E> = (event: E) => void;

export class Emitter<E> {
  readonly #listeners = new Set<Listener<E>>();

  subscribe(listener: Listener<E>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: E): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // a faulty listener must not stop the lifecycle it observes
      }
    }
  }

  get size(): number {
    return this.#listeners.size;
  }
}
