/**
 * `certloop demo` stores: the embedded Kubernetes API emulator (namespace gloo-mesh, its kubeconfig printed so
 * `kubectl get secrets -n gloo-mesh -w` can watch it live, Lease election for the replicas) or a folder of files
 * (file leases). Each gives the demo's own store, the one the operator writes bring-your-own secrets with (as
 * cert-manager would), and the flags that point `certloop agent` at the same place.
 */
import { join } from 'node:path';
import { FileSecretStore, type SecretStore, type Watcher } from '@certloop/core';

export interface DemoStore {
  readonly store: SecretStore & Watcher;
  /** Writes what cert-manager would write (the Kubernetes store refuses that to certloop itself). */
  readonly certManager: SecretStore;
  readonly description: string;
  /** Lines to print for people (where to look). */
  readonly notes: readonly string[];
  readonly agentArgs: readonly string[];
  readonly leaderArgs: readonly string[];
  close(): Promise<void>;
}

export async function openDemoStore(kind: 'file' | 'kubernetes', directory: string): Promise<DemoStore> {
  if (kind === 'file') {
    const secrets = join(directory, 'secrets');
    const store = new FileSecretStore({ directory: secrets, pollIntervalMs: 250 });
    return {
      store,
      certManager: store,
      description: `file ${secrets}`,
      notes: [`watch it: ls -l ${secrets}`],
      agentArgs: ['--store', 'file', '--dir', secrets],
      leaderArgs: ['--leader-election', 'file', '--lease-dir', join(directory, 'leases')],
      close: () => store.close(),
    };
  }
  // loaded only when asked: the emulator is the demo's embedded Kubernetes API server
  const { startKubernetesApiEmulator } = await import('@certloop/k8s-store/testing');
  const { KubernetesSecretStore } = await import('@certloop/k8s-store');
  const namespace = 'gloo-mesh';
  const emulator = await startKubernetesApiEmulator({ namespace });
  const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace });
  const certManager = new KubernetesSecretStore({
    kubeConfig: emulator.kubeConfig,
    namespace,
    writeBringYourOwn: true,
  });
  return {
    store,
    certManager,
    description: `kubernetes ${namespace} (API emulator ${emulator.url})`,
    notes: [
      `kubeconfig: ${emulator.kubeconfigPath}`,
      `watch it:   kubectl --kubeconfig ${emulator.kubeconfigPath} get secrets,leases -n ${namespace} -w`,
    ],
    agentArgs: ['--store', 'kubernetes', '--kubeconfig', emulator.kubeconfigPath, '--namespace', namespace],
    leaderArgs: ['--leader-election', 'kubernetes'],
    close: async () => {
      await certManager.close();
      await store.close();
      await emulator.close();
    },
  };
}
