/**
 * Internal (`@certloop/agent-rotator`): a tiny typed event emitter. A listener that throws never stops delivery.
 */
export class Emitter<E> {
  readonly #listeners = new Set<(event: E) => void>();

  subscribe(listener: (event: E) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: E): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // observers must not break the relay they observe
      }
    }
  }
}
