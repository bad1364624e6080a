// Child of bench/k8s.ts: plain Node on the built packages (what users run). Watches `count` Secrets through one
// KubernetesSecretStore (one list-watch), waits for every initial state, says `synced` on stderr, waits until
// every watch saw one more change (written by the emulator's process); then reports RSS on stdout.
import { setMaxListeners } from 'node:events';
import { KubernetesSecretStore, loadKubeConfig } from '@certloop/k8s-store';

const [kubeconfig, countText] = process.argv.slice(2);
const count = Number(countText);
const baseline = process.memoryUsage().rss;
const store = new KubernetesSecretStore({ kubeConfig: loadKubeConfig({ kubeconfig }), namespace: 'gloo-mesh' });
const abort = new AbortController();
setMaxListeners(0, abort.signal);
let initial = 0;
let updated = 0;
let onInitial;
let onUpdated;
const allInitial = new Promise((resolve) => {
  onInitial = resolve;
});
const allUpdated = new Promise((resolve) => {
  onUpdated = resolve;
});
const started = performance.now();
for (let i = 0; i < count; i++) {
  void (async () => {
    for await (const event of store.watch(`secret-${i}`, { signal: abort.signal })) {
      if (event.type === 'initial' && ++initial === count) onInitial();
      if (event.type === 'updated' && ++updated === count) onUpdated();
    }
  })();
}
await allInitial;
const syncedMs = performance.now() - started;
// the parent has the emulator's process write every Secret once more
process.stderr.write('synced\n');
await allUpdated;
await new Promise((r) => setTimeout(r, 300));
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const { rss } = process.memoryUsage();
process.stdout.write(
  JSON.stringify({
    rss,
    baseline,
    syncedMs,
    lists: store.informer.reflector.stats.lists,
    watches: store.informer.reflector.stats.watches,
  }),
);
abort.abort();
await store.close();
