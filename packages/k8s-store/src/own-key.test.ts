/**
 * A Secret data key `__proto__` is valid in Kubernetes (`[-._a-zA-Z0-9]+`): it stays an own data key through put,
 * get, list and watch (the informer's packed form too), and the emulator keeps it as the API server does.
 */
import type { Secret } from '@certloop/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setOwn } from './own-key.js';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

let emulator: KubernetesApiEmulator;
let store: KubernetesSecretStore;
beforeAll(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
  store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
});
afterAll(async () => {
  await store.close();
  await emulator.close();
});

const text = (value: Uint8Array | undefined) => (value ? new TextDecoder().decode(value) : undefined);
function expectProtoKey(secret: Secret | undefined, value: string): void {
  expect(Object.getPrototypeOf(secret!.data)).toBe(Object.prototype);
  expect(Object.keys(secret!.data).sort()).toEqual(['__proto__', 'plain']);
  expect(Object.hasOwn(secret!.data, '__proto__')).toBe(true);
  expect(text(Object.getOwnPropertyDescriptor(secret!.data, '__proto__')?.value)).toBe(value);
  expect(text(secret!.data.plain)).toBe('p');
}

it('setOwn defines __proto__ as an own key and assigns any other', () => {
  const record: Record<string, number> = {};
  setOwn(record, '__proto__', 1);
  setOwn(record, 'a', 2);
  expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
  expect(Object.entries(record)).toEqual([
    ['__proto__', 1],
    ['a', 2],
  ]);
});

it('keeps a data key named __proto__ through put, get, list and watch', async () => {
  const data = Object.fromEntries([
    ['__proto__', new TextEncoder().encode('one')],
    ['plain', new TextEncoder().encode('p')],
  ]);
  expectProtoKey(await store.put('proto-key', { data }), 'one');
  expectProtoKey(await store.get('proto-key'), 'one');
  expectProtoKey(
    (await store.list()).find((s) => s.name === 'proto-key'),
    'one',
  );
  const watch = store.watch('proto-key');
  const initial = await watch.next();
  expect(initial.value?.type).toBe('initial');
  expectProtoKey((initial.value as { secret: Secret }).secret, 'one');
  const next = Object.fromEntries([
    ['__proto__', new TextEncoder().encode('two')],
    ['plain', new TextEncoder().encode('p')],
  ]);
  await store.put('proto-key', { data: next });
  const updated = await watch.next();
  expect(updated.value?.type).toBe('updated');
  expectProtoKey((updated.value as { secret: Secret }).secret, 'two');
  await watch.return?.();
});
