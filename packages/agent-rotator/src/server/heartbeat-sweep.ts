/**
 * `@certloop/agent-rotator` heartbeat sweep: one timer for every open relay stream, instead of one per stream.
 *
 * Streams are kept in the order their next heartbeat is due (a `Map`'s insertion order: a stream that beats is
 * moved to the back, due one interval later), so a sweep serves the due ones from the front and sets the one timer
 * to the next due time: O(due streams) per sweep, no per-stream timer objects for the garbage collector, and the
 * same heartbeat schedule as before (each stream one interval after its Welcome, then every interval). Durations
 * are on the injected clock's monotonic reading.
 */
import type { Clock, TimerHandle } from '@certloop/core';

export class HeartbeatSweep<K> {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #beat: (key: K) => void;
  /** Key to the monotonic time its next heartbeat is due; iteration order is due order. */
  readonly #due = new Map<K, number>();
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(clock: Clock, intervalMs: number, beat: (key: K) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#beat = beat;
  }

  /** Starts beating for `key`: the first heartbeat one interval from now. */
  add(key: K): void {
    this.#due.delete(key);
    this.#due.set(key, this.#clock.monotonicNow() + this.#intervalMs);
    this.#arm();
  }

  delete(key: K): void {
    this.#due.delete(key);
    if (this.#due.size === 0) this.#disarm();
  }

  get size(): number {
    return this.#due.size;
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.monotonicNow();
    for (const [key, at] of this.#due) {
      if (at > now) break;
      this.#due.delete(key);
      this.#due.set(key, now + this.#intervalMs);
      this.#beat(key);
    }
    this.#arm();
  }

  #arm(): void {
    const first = this.#due.values().next();
    if (first.done) return;
    if (this.#timer && this.#timerAt <= first.value) return;
    this.#disarm();
    this.#timerAt = first.value;
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), Math.max(0, first.value - this.#clock.monotonicNow()));
  }

  #disarm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** Stops the timer and forgets every stream. */
  close(): void {
    this.#due.clear();
    this.#disarm();
  }
}
