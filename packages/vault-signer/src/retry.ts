/**
 * `@certloop/vault-signer` internal: bounded retries of transient failures (sealed, 5xx, 429, unreachable, timeout)
 * with exponential backoff and jitter on the injected clock, honouring `AbortSignal`.
 */
import { backoffDelay, type Clock, sleep } from '@certloop/core';
import { isTransient, vaultError } from './errors.js';
import type { VaultSignerEvent } from './events.js';
import type { VaultRetryOptions } from './options.js';

export interface RetryContext {
  readonly clock: Clock;
  readonly random: () => number;
  readonly retry: VaultRetryOptions | undefined;
  readonly emit: (event: VaultSignerEvent) => void;
}

export async function withRetry<T>(
  context: RetryContext,
  path: string,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  const attempts = Math.max(1, context.retry?.attempts ?? 4);
  const backoff = { initialMs: context.retry?.initialMs ?? 250, maxMs: context.retry?.maxMs ?? 5000 };
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const error = vaultError(err, path);
      if (!isTransient(error) || n >= attempts || signal?.aborted) throw error;
      const delayMs = backoffDelay(n, backoff, context.random);
      context.emit({ type: 'retry', path, attempt: n, delayMs, error });
      await sleep(context.clock, delayMs, signal);
    }
  }
}
