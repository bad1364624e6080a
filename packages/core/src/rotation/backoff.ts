/**
 * `@certloop/core` backoff: exponential, capped, with full jitter kept in the upper half so retries neither
 * stampede nor stall.
 */
export interface BackoffOptions {
  /** First delay in ms (default 1000). */
  readonly initialMs?: number;
  /** Upper bound in ms (default 5 minutes). */
  readonly maxMs?: number;
  /** Growth per failure (default 2). */
  readonly factor?: number;
}

/** The delay before retry number `attempt` (1-based): `min(max, initial * factor^(attempt-1))`, jittered into [d/2, d]. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 1000;
  const max = options.maxMs ?? 300_000;
  const factor = options.factor ?? 2;
  const base = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (base / 2) * random());
}
