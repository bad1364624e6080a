/**
 * `@certloop/core` clock: the one source of time and timers for everything that waits.
 *
 * Inject a {@link ManualClock} in tests so a year of rotations runs in milliseconds; production code uses
 * {@link systemClock}. Times are `Date`s; delays are milliseconds.
 */
import { abortError } from '../errors.js';

/** An opaque handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  readonly __timer: true;
}

/**
 * Contract: `now()` is monotonic enough for certificate work (wall time, whole milliseconds); `setTimeout`
 * calls back once, no earlier than `delayMs` after the call as measured by this clock, for any delay (days and
 * years included); `clearTimeout` is idempotent. Safe to call from any callback.
 */
export interface Clock {
  now(): Date;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

// Node's timers overflow above 2^31-1 ms (about 24.8 days) and fire at once; long waits are chained.
const MAX_NODE_DELAY = 2 ** 31 - 1;

interface SystemTimer extends TimerHandle {
  timeout: NodeJS.Timeout | undefined;
  cancelled: boolean;
}

/** The wall clock, with timers that do not keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(callback, delayMs) {
    const deadline = Date.now() + Math.max(0, delayMs);
    const timer: SystemTimer = { __timer: true, timeout: undefined, cancelled: false };
    const arm = () => {
      const left = deadline - Date.now();
      if (left <= 0) {
        timer.timeout = undefined;
        if (!timer.cancelled) callback();
        return;
      }
      timer.timeout = setTimeout(arm, Math.min(left, MAX_NODE_DELAY));
      timer.timeout.unref?.();
    };
    timer.timeout = setTimeout(arm, Math.min(Math.max(0, delayMs), MAX_NODE_DELAY));
    timer.timeout.unref?.();
    return timer;
  },
  clearTimeout(handle) {
    const timer = handle as SystemTimer;
    timer.cancelled = true;
    if (timer.timeout) clearTimeout(timer.timeout);
  },
};

/** Waits `delayMs` on `clock`; rejects with `CERTLOOP_ABORTED` when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(abortError(signal));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds since the epoch, whole (ASN.1 time resolution). */
export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
