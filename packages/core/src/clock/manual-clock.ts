/**
 * `@certloop/core` ManualClock: a clock that moves only when told, for tests and simulations.
 *
 * It keeps the two readings of a {@link Clock} apart: a monotonic reading, on which timers run, and a wall clock
 * that normally moves with it. `advance` moves both and fires due timers in order, letting promise chains (and
 * short real I/O) settle after each, so code driven by timers runs as it would in real time, only faster.
 * `stepWall` moves the wall clock alone, as NTP or an operator would, while durations run on undisturbed.
 */
import type { Clock, TimerHandle } from './clock.js';

interface ManualTimer extends TimerHandle {
  readonly id: number;
  /** Due time on the monotonic reading. */
  readonly at: number;
  readonly callback: () => void;
}

export interface ManualClockOptions {
  /** How many event-loop turns to yield after each fired timer (default 5). */
  settleTurns?: number;
  /** The monotonic reading at construction (default 0; the origin is arbitrary, as on a real host). */
  monotonicStart?: number;
}

export class ManualClock implements Clock {
  #mono: number;
  /** wall = monotonic + offset; changes only when the wall clock is stepped. */
  #wallOffset: number;
  #nextId = 1;
  readonly #timers = new Map<number, ManualTimer>();
  readonly #settleTurns: number;

  constructor(start: Date | number | string = '2026-01-01T00:00:00Z', options: ManualClockOptions = {}) {
    this.#mono = options.monotonicStart ?? 0;
    this.#wallOffset = Math.floor(new Date(start).getTime()) - this.#mono;
    this.#settleTurns = options.settleTurns ?? 5;
  }

  /** The wall clock. */
  now(): Date {
    return new Date(this.#mono + this.#wallOffset);
  }

  /** The monotonic reading (milliseconds); moved only by `advance`, `advanceTo`, `runNext` and forward `jumpTo`. */
  monotonicNow(): number {
    return this.#mono;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    // whole milliseconds, rounded up, so a timer never fires early and always matches `nextTimerAt()`
    const delay = Number.isFinite(delayMs) ? Math.ceil(Math.max(0, delayMs)) : 0;
    const timer: ManualTimer = { __timer: true, id: this.#nextId++, at: this.#mono + delay, callback };
    this.#timers.set(timer.id, timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete((handle as ManualTimer).id);
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** The wall time at which the earliest pending timer fires if the wall clock is not stepped again, or undefined. */
  nextTimerAt(): Date | undefined {
    const next = this.#earliest();
    return next ? new Date(next.at + this.#wallOffset) : undefined;
  }

  /** Moves both clocks forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.#advanceMonotonicTo(this.#mono + Math.max(0, ms));
  }

  /** Moves both clocks forward until the wall clock reads `target` (never backwards), firing due timers in order. */
  async advanceTo(target: Date | number): Promise<void> {
    await this.advance(new Date(target).getTime() - this.now().getTime());
  }

  /** Jumps to the next timer and fires it; false when none is pending. */
  async runNext(): Promise<boolean> {
    const next = this.#earliest();
    if (!next) return false;
    await this.#advanceMonotonicTo(next.at);
    return true;
  }

  /**
   * Steps the wall clock alone by `deltaMs` (negative: backwards), as NTP, a VM restore or an operator would.
   * The monotonic reading and every timer are untouched: durations run on as if nothing happened.
   */
  stepWall(deltaMs: number): void {
    this.#wallOffset += Math.trunc(deltaMs);
  }

  /** Sets the wall clock alone to `target` (see {@link ManualClock.stepWall}). */
  setWall(target: Date | number): void {
    this.#wallOffset = Math.floor(new Date(target).getTime()) - this.#mono;
  }

  /**
   * Sets the wall clock to `target` without firing timers. Forwards, the monotonic reading moves as far (a process
   * that was suspended: its overdue timers fire at the next `advance` or `runNext`); backwards, only the wall clock
   * moves, since monotonic time never decreases (the same as `setWall`).
   */
  jumpTo(target: Date | number): void {
    const delta = Math.floor(new Date(target).getTime()) - this.now().getTime();
    if (delta > 0) this.#mono += delta;
    else this.#wallOffset += delta;
  }

  /** Lets pending promise callbacks and short I/O run. */
  async settle(turns = this.#settleTurns): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async #advanceMonotonicTo(end: number): Promise<void> {
    await this.settle();
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > end) break;
      this.#timers.delete(next.id);
      this.#mono = Math.max(this.#mono, next.at);
      next.callback();
      await this.settle();
    }
    this.#mono = Math.max(this.#mono, end);
    await this.settle();
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.id < best.id)) best = timer;
    }
    return best;
  }
}
