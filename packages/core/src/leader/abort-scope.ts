/**
 * Internal (not exported): an abort controller tied to parent signals and an optional timeout on a {@link Clock}.
 *
 * Written by hand rather than with `AbortSignal.any`/`AbortSignal.timeout` so that timeouts run on the injected
 * clock, and so that `dispose()` detaches from long-lived parents (a renew loop makes one scope per round).
 */
import type { Clock, TimerHandle } from '../clock/clock.js';

export interface AbortScope {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Detaches from the parents and cancels the timeout; the signal keeps its state. Idempotent. */
  dispose(): void;
}

export interface AbortScopeOptions {
  readonly parents?: readonly (AbortSignal | undefined)[];
  readonly timeout?: { readonly clock: Clock; readonly ms: number; readonly reason?: unknown };
}

export function abortScope(options: AbortScopeOptions = {}): AbortScope {
  const controller = new AbortController();
  const parents = (options.parents ?? []).filter((parent): parent is AbortSignal => parent !== undefined);
  let timer: TimerHandle | undefined;
  const detach = () => {
    for (const parent of parents) parent.removeEventListener('abort', onParentAbort);
    if (timer !== undefined && options.timeout) options.timeout.clock.clearTimeout(timer);
    timer = undefined;
  };
  const abort = (reason?: unknown) => {
    detach();
    if (!controller.signal.aborted) controller.abort(reason);
  };
  function onParentAbort(this: AbortSignal) {
    abort(this.reason);
  }
  const alreadyAborted = parents.find((parent) => parent.aborted);
  if (alreadyAborted) {
    controller.abort(alreadyAborted.reason);
  } else {
    for (const parent of parents) parent.addEventListener('abort', onParentAbort, { once: true });
    const timeout = options.timeout;
    if (timeout) timer = timeout.clock.setTimeout(() => abort(timeout.reason), timeout.ms);
  }
  return { signal: controller.signal, abort, dispose: detach };
}
