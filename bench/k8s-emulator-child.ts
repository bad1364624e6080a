/**
 * Child of bench/k8s.ts: the Kubernetes API emulator in its own process, seeded with `count` TLS Secrets in
 * `gloo-mesh`. Prints `{ url, kubeconfigPath }` once seeded; ends when its stdin closes.
 */
import { KubernetesSecretStore } from '@certloop/k8s-store';
import { startKubernetesApiEmulator } from '@certloop/k8s-store/testing';
import { clientTlsSecrets } from './k8s-secret.js';

const count = Number(process.argv[2] ?? 10_000);
const emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh', historyLimit: count * 3 });
const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
const [secret] = await clientTlsSecrets(1);
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < count) await store.put(`secret-${next++}`, secret!);
  }),
);
await store.close();
process.stdout.write(`${JSON.stringify({ url: emulator.url, kubeconfigPath: emulator.kubeconfigPath })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void emulator.close().then(() => process.exit(0));
});
