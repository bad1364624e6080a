/**
 * `@certloop/core` ManualClock: a clock that moves only when told, for tests and simulations.
 *
 * `advance` fires due timers in time order and lets promise chains (and short real I/O) settle after each,
 * so code driven by timers runs as it would in real time, only faster.
 */
import type { Clock, TimerHandle } from './clock.js';

interface ManualTimer extends TimerHandle {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export interface ManualClockOptions {
  /** How many event-loop turns to yield after each fired timer (default 5). */
  settleTurns?: number;
}

export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, ManualTimer>();
  readonly #settleTurns: number;

  constructor(start: Date | number | string = '2026-01-01T00:00:00Z', options: ManualClockOptions = {}) {
    this.#now = Math.floor(new Date(start).getTime());
    this.#settleTurns = options.settleTurns ?? 5;
  }

  now(): Date {
    return new Date(this.#now);
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    // whole milliseconds, rounded up, so a timer never fires early and always matches `nextTimerAt()`
    const delay = Number.isFinite(delayMs) ? Math.ceil(Math.max(0, delayMs)) : 0;
    const timer: ManualTimer = { __timer: true, id: this.#nextId++, at: this.#now + delay, callback };
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

  /** When the earliest pending timer fires, or undefined. */
  nextTimerAt(): Date | undefined {
    const next = this.#earliest();
    return next ? new Date(next.at) : undefined;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Moves time to `target` (never backwards), firing due timers in order. */
  async advanceTo(target: Date | number): Promise<void> {
    const end = new Date(target).getTime();
    await this.settle();
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > end) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await this.settle();
    }
    this.#now = Math.max(this.#now, end);
    await this.settle();
  }

  /** Jumps to the next timer and fires it; false when none is pending. */
  async runNext(): Promise<boolean> {
    const next = this.#earliest();
    if (!next) return false;
    await this.advanceTo(next.at);
    return true;
  }

  /** Sets the time without firing timers (simulates a process that was down). */
  jumpTo(target: Date | number): void {
    this.#now = new Date(target).getTime();
  }

  /** Lets pending promise callbacks and short I/O run. */
  async settle(turns = this.#settleTurns): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.id < best.id)) best = timer;
    }
    return best;
  }
}
