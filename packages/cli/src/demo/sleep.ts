/**
 * `certloop demo` pacing: the demo's loops sleep between steps and stop at once when the demo is interrupted.
 */

/** Waits `ms` or until `signal` aborts (resolves either way, never rejects); leaves no listener behind. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((done) => {
    const stop = () => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', stop);
        done();
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', stop, { once: true });
  });
