/**
 * `@certloop/k8s-store` retry: transient API failures (5xx, 429, timeouts, dropped connections) are retried with
 * capped exponential backoff and jitter, at least as long as `Retry-After` asks, a bounded number of times, and
 * never past an aborted `signal`. Anything else is thrown at once. Internal.
 */
import type { Clock } from '@certloop/core';
import { backoffDelay, sleep, systemClock } from '@certloop/core/base';
import { isRetryable } from './errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  readonly attempts?: number;
  /** First backoff delay (default 200 ms), doubling up to `maxDelayMs` (default 5 s). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export async function withRetry<T>(
  call: () => Promise<T>,
  options: RetryOptions & {
    readonly signal?: AbortSignal;
    /** Told of each failure that is retried (e.g. to note that a write may have been applied). */
    readonly onRetry?: (err: unknown) => void;
  },
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const clock = options.clock ?? systemClock;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isRetryable(err) || attempt >= attempts) throw err;
      options.onRetry?.(err);
      const backoff = backoffDelay(
        attempt,
        { initialMs: options.initialDelayMs ?? 200, maxMs: options.maxDelayMs ?? 5000 },
        options.random,
      );
      const asked = typeof err.details?.retryAfterMs === 'number' ? err.details.retryAfterMs : 0;
      await sleep(clock, Math.max(backoff, asked), options.signal);
    }
  }
}
