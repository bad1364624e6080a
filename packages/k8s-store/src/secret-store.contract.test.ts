import { describeSecretStoreContract, describeWatcherContract } from '@certloop/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

let emulator: KubernetesApiEmulator;
let namespaces = 0;
beforeAll(async () => {
  emulator = await startKubernetesApiEmulator();
});
afterAll(async () => {
  await emulator.close();
});

// each test gets a fresh, empty namespace of one emulator
const fresh = () => `contract-${++namespaces}`;

describeSecretStoreContract('KubernetesSecretStore over the emulator', async () => {
  const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: fresh() });
  return { store, cleanup: () => store.close() };
});

describeWatcherContract('KubernetesSecretStore over the emulator', async () => {
  const namespace = fresh();
  const watcher = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace });
  const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace });
  return {
    watcher,
    store,
    cleanup: async () => {
      await store.close();
    },
  };
});
