// Child of bench/k8s.ts: plain Node on the built packages (what users run). Watches `count` Secrets through one
// KubernetesSecretStore (one list-watch), waits for every initial state, says `synced` on stderr, waits until
// every watch saw one more change (written by the emulator's process); then reports RSS on stdout.
//
// With a third argument `lite:<bundle>` (the prototype bench/k8s-rss.ts measures beside it): the store comes from
// <bundle>, an esbuild bundle of k8s-store's secret-store.ts alone, and the kubeconfig is read into a plain object
// with the two methods the store calls (`getCurrentCluster`, `applyToHTTPSOptions`), so that client-node, and with
// it its generated API, is never loaded: what the same watch costs without it.

import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';

const [kubeconfig, countText, variant = 'full'] = process.argv.slice(2);
const count = Number(countText);
const store = variant.startsWith('lite:') ? await liteStore(variant.slice(5)) : await fullStore();
// after the imports and the store: what the process costs before any Secret
globalThis.gc?.();
const baseline = process.memoryUsage().rss;

async function fullStore() {
  const { KubernetesSecretStore, loadKubeConfig } = await import('@certloop/k8s-store');
  return new KubernetesSecretStore({ kubeConfig: loadKubeConfig({ kubeconfig }), namespace: 'gloo-mesh' });
}

async function liteStore(bundle) {
  const { KubernetesSecretStore } = await import(bundle);
  // the emulator's kubeconfig (JSON): one cluster (plain HTTP) and one bearer token
  const doc = JSON.parse(readFileSync(kubeconfig, 'utf8'));
  const server = doc.clusters[0].cluster.server;
  const token = doc.users[0].user.token;
  const kubeConfig = {
    getCurrentCluster: () => ({ name: 'emulator', server, skipTLSVerify: true }),
    applyToHTTPSOptions: async (opts) => {
      opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
    },
  };
  return new KubernetesSecretStore({ kubeConfig, namespace: 'gloo-mesh' });
}
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
// CERTLOOP_BENCH_SETTLE_MS: how long the process idles before measuring (default 300 ms)
await new Promise((r) => setTimeout(r, Number(process.env.CERTLOOP_BENCH_SETTLE_MS ?? 300)));
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
process.stdout.write(
  JSON.stringify({
    rss,
    heapUsed,
    heapTotal,
    external,
    arrayBuffers,
    baseline,
    syncedMs,
    lists: store.informer.reflector.stats.lists,
    watches: store.informer.reflector.stats.watches,
  }),
);
abort.abort();
await store.close();
