/**
 * `@certloop/vault-signer` internal: request deadlines kept by one sweep instead of a timer per request. Between
 * network waits, a timer armed and cleared per request cost about 8 % of a kept-alive request's CPU; a deadline here
 * is two map operations. A request not done by its deadline is cancelled at the next sweep: at most an eighth of its
 * timeout late (5 ms to 1 s). The sweep runs only while requests are pending and never holds the process open.
 */
import { performance } from 'node:perf_hooks';

interface Pending {
  readonly at: number;
  readonly cancel: () => void;
}

export class Deadlines {
  /** By a number, not by the request object: an object key would give every request a hash field (a shape change). */
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #periodMs = Number.POSITIVE_INFINITY;

  /** Calls `cancel` once `timeoutMs` have passed, unless {@link delete} is called with the id returned first. */
  add(timeoutMs: number, cancel: () => void): number {
    const id = ++this.#next;
    this.#pending.set(id, { at: performance.now() + timeoutMs, cancel });
    const period = Math.min(1000, Math.max(5, timeoutMs / 8));
    if (this.#timer === undefined || period < this.#periodMs) this.#arm(period);
    return id;
  }

  delete(id: number): void {
    this.#pending.delete(id);
  }

  #arm(periodMs: number): void {
    clearInterval(this.#timer);
    this.#periodMs = periodMs;
    this.#timer = setInterval(() => this.#sweep(), periodMs);
    this.#timer.unref();
  }

  #sweep(): void {
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#periodMs = Number.POSITIVE_INFINITY;
      return;
    }
    const now = performance.now();
    for (const [id, pending] of this.#pending) {
      if (pending.at > now) continue;
      this.#pending.delete(id);
      pending.cancel();
    }
  }
}
