/**
 * Child of bench/k8s.ts: the Kubernetes API emulator in its own process, seeded with `count` TLS Secrets in
 * `gloo-mesh`, each with bytes of its own (`distinctSecret`). Prints `{ url, kubeconfigPath }` once seeded; on a `touch` line on stdin it writes every Secret once
 * more (new bytes each, as a renewal) (so each watch sees a live event) and prints `touched`; ends when its stdin closes.
 */
import { KubernetesSecretStore } from '@certloop/k8s-store';
import { startKubernetesApiEmulator } from '@certloop/k8s-store/testing';
import { clientTlsSecrets, distinctSecret } from './k8s-secret.js';

const count = Number(process.argv[2] ?? 10_000);
const emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh', historyLimit: count * 3 });
const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
const [secret] = await clientTlsSecrets(1);
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < count) await store.put(`secret-${next++}`, distinctSecret(secret!));
  }),
);
process.stdout.write(`${JSON.stringify({ url: emulator.url, kubeconfigPath: emulator.kubeconfigPath })}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  if (!chunk.includes('touch')) return;
  next = 0;
  void Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) await store.put(`secret-${next++}`, distinctSecret(secret!));
    }),
  ).then(() => process.stdout.write('touched\n'));
});
process.stdin.on('end', () => {
  void store
    .close()
    .then(() => emulator.close())
    .then(() => process.exit(0));
});
