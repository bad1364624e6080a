/**
 * `@certloop/core` clock: the one source of time and timers for everything that waits.
 *
 * Two readings, for two jobs. `now()` is the wall clock: it says whether a certificate is valid and what time to
 * write into records; it may step (NTP, a VM resume, an operator). `monotonicNow()` only ever moves forward at the
 * rate of real time: it measures durations (lease expiry, renew deadlines, retry periods, lock ages). Timers take
 * durations on the monotonic basis, so no step of the wall clock freezes or fires them.
 *
 * Inject a {@link ManualClock} in tests so a year of rotations runs in milliseconds (and the wall clock can be
 * stepped apart from the monotonic one); production code uses {@link systemClock}.
 */

import { abortError } from '../errors.js';
import { onAbort } from '../lib/abort-fanout.js';

/** An opaque handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  readonly __timer: true;
}

/**
 * Contract:
 * - `now()` is the wall clock (whole milliseconds): use it for certificate validity and for times written down. It
 *   may jump forwards or backwards; never compute a duration from two readings of it.
 * - `monotonicNow()` is milliseconds from an arbitrary origin (per clock, per process); it never decreases and is
 *   not affected by steps of the wall clock. Use it, and only it, for durations and deadlines.
 * - `setTimeout` calls back once, no earlier than `delayMs` after the call as measured by `monotonicNow()`, for any
 *   delay (days and years included), whatever the wall clock does meanwhile. `clearTimeout` is idempotent.
 * - Safe to call from any callback.
 */
export interface Clock {
  now(): Date;
  monotonicNow(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

// Node's timers overflow above 2^31-1 ms (about 24.8 days) and fire at once; long waits are chained.
const MAX_NODE_DELAY = 2 ** 31 - 1;

interface SystemTimer extends TimerHandle {
  timeout: NodeJS.Timeout | undefined;
  cancelled: boolean;
}

/** `performance.now()`: monotonic (libuv's hrtime), the same basis Node's own timers run on. */
const monotonic = (): number => performance.now();

/**
 * The host's clocks: `now()` is `new Date()`, `monotonicNow()` is `performance.now()`, and timers wait for a
 * monotonic deadline (chained past Node's 24.8-day limit). Timers do not keep the process alive on their own.
 */
export const systemClock: Clock = {
  now: () => new Date(),
  monotonicNow: monotonic,
  setTimeout(callback, delayMs) {
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    const deadline = monotonic() + delay;
    const timer: SystemTimer = { __timer: true, timeout: undefined, cancelled: false };
    const arm = (wait: number) => {
      timer.timeout = setTimeout(fire, Math.min(wait, MAX_NODE_DELAY));
      timer.timeout.unref?.();
    };
    const fire = () => {
      const left = deadline - monotonic();
      // a chained wait goes on; Node's loop time may also fire a fraction of a millisecond early
      if (left > 0) {
        arm(left);
        return;
      }
      timer.timeout = undefined;
      if (!timer.cancelled) callback();
    };
    arm(delay);
    return timer;
  },
  clearTimeout(handle) {
    const timer = handle as SystemTimer;
    timer.cancelled = true;
    if (timer.timeout) clearTimeout(timer.timeout);
  },
};

/** Waits `delayMs` (monotonic) on `clock`; rejects with `CERTLOOP_ABORTED` when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const handle = clock.setTimeout(() => {
      off?.();
      resolve();
    }, delayMs);
    // one native listener per signal, however many sleeps share it (Node warns past 10)
    const off = signal
      ? onAbort(signal, () => {
          clock.clearTimeout(handle);
          reject(abortError(signal));
        })
      : undefined;
  });
}

/** Seconds since the epoch, whole (ASN.1 time resolution). */
export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
