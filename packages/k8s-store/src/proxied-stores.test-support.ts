/**
 * Test support (not published): the emulator serving `gloo-mesh`, a cutting proxy in front of it (to lose answers
 * and cut streams), a store that goes through the proxy and one that talks to the emulator directly.
 */
import { KubernetesSecretStore, type KubernetesSecretStoreOptions } from './secret-store.js';
import {
  type CuttingProxy,
  type KubernetesApiEmulator,
  type KubernetesApiEmulatorOptions,
  startCuttingProxy,
  startKubernetesApiEmulator,
} from './testing/index.js';

export interface ProxiedStores {
  readonly emulator: KubernetesApiEmulator;
  readonly proxy: CuttingProxy;
  /** The store under test, through the proxy. */
  readonly proxied: KubernetesSecretStore;
  /** A store straight to the emulator (to write or read behind the proxied one's back). */
  readonly direct: KubernetesSecretStore;
  /** Closes both stores, then the proxy, then the emulator. */
  close(): Promise<void>;
}

export async function startProxiedStores(
  emulatorOptions: Omit<KubernetesApiEmulatorOptions, 'namespace'>,
  proxiedOptions: Omit<KubernetesSecretStoreOptions, 'kubeConfig' | 'namespace'>,
): Promise<ProxiedStores> {
  const emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh', ...emulatorOptions });
  const proxy = await startCuttingProxy(emulator.url);
  const proxied = new KubernetesSecretStore({
    kubeConfig: emulator.kubeConfigFor({ server: proxy.url }),
    namespace: 'gloo-mesh',
    ...proxiedOptions,
  });
  const direct = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
  return {
    emulator,
    proxy,
    proxied,
    direct,
    async close() {
      await proxied.close();
      await direct.close();
      await proxy.close();
      await emulator.close();
    },
  };
}
