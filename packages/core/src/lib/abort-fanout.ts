/**
 * `@certloop/core` onAbort: many listeners on one `AbortSignal` through a single native listener (exported so the
 * other certloop packages share it). Node warns (`MaxListenersExceededWarning`) past 10 listeners on one signal, and
 * a process may well hold hundreds of watches under one signal; this keeps one listener per signal, however many
 * watches share it, and removes it when the last one unsubscribes.
 */

/** A function, or an object whose `handleEvent()` is called (no closure needed per listener). */
export type AbortListener = (() => void) | { handleEvent(): void };

interface Fanout {
  readonly listeners: Set<AbortListener>;
  readonly fire: () => void;
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Calls `listener` once when `signal` aborts; resolves the function that unsubscribes it. With a signal already
 * aborted nothing is called (check `signal.aborted` first). A listener that throws does not keep the others from
 * running; its error is rethrown asynchronously, as an event listener's would be.
 */
export function onAbort(signal: AbortSignal, listener: AbortListener): () => void {
  let fanout = fanouts.get(signal);
  if (!fanout) {
    const listeners = new Set<AbortListener>();
    const fire = () => {
      fanouts.delete(signal);
      for (const each of [...listeners]) {
        try {
          if (typeof each === 'function') each();
          else each.handleEvent();
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
      listeners.clear();
    };
    signal.addEventListener('abort', fire, { once: true });
    fanout = { listeners, fire };
    fanouts.set(signal, fanout);
  }
  fanout.listeners.add(listener);
  const owner = fanout;
  return () => {
    if (!owner.listeners.delete(listener) || owner.listeners.size > 0) return;
    signal.removeEventListener('abort', owner.fire);
    if (fanouts.get(signal) === owner) fanouts.delete(signal);
  };
}
