/**
 * Many watches (and calls) sharing one AbortSignal: one native abort listener for all of them, so Node never
 * prints MaxListenersExceededWarning (it warns past 10 listeners on one signal), and every watch ends on abort.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

let emulator: KubernetesApiEmulator;
let store: KubernetesSecretStore;

beforeEach(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
  store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
});

afterEach(async () => {
  await store.close();
  await emulator.close();
});

describe('watches sharing one AbortSignal', () => {
  it('50 watches and 20 concurrent puts under one signal: no MaxListenersExceededWarning, all end on abort', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const { signal } = controller;
      const initial: Promise<void>[] = [];
      const ended = Array.from({ length: 50 }, (_, i) => {
        const watch = store.watch(`s${i}`, { signal });
        let first: () => void = () => undefined;
        initial.push(
          new Promise<void>((resolve) => {
            first = resolve;
          }),
        );
        return (async () => {
          let events = 0;
          for await (const _ of watch) {
            if (events++ === 0) first();
          }
          return events;
        })();
      });
      await Promise.all(initial);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.put(`s${i}`, { data: { v: new TextEncoder().encode(String(i)) } }, { signal }),
        ),
      );
      expect(getEventListeners(signal, 'abort')).toHaveLength(1);
      controller.abort();
      const counts = await Promise.all(ended);
      expect(counts.every((events) => events >= 1)).toBe(true);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
