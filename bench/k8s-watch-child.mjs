// Child of bench/k8s.ts: plain Node on the built packages (what users run). Watches `count` Secrets through one
// KubernetesSecretStore (one list-watch), waits for every initial state, says `synced` on stderr, waits until
// every watch saw one more change (written by the emulator's process); then reports RSS on stdout.
//
// The third argument picks how the store gets its kubeconfig: `full` (default) through certloop's loadKubeConfig(),
// as the product does; `client-node` through a client-node KubeConfig (what a user who builds one pays for it).
// The fourth picks the consumer of each watch: `next` (default) calls `next()` from the previous result's `then`;
// `for-await` is a `for await` loop per watch. Both see every event; they differ in what V8 keeps: a suspended
// async function that was optimized keeps the register file of its last interpreted run, so a `for await` loop
// that was optimized after its first event keeps that first (`initial`) event, and with it a superseded Secret,
// alive until its next event (measured: 10,000 loops keep about 18 MiB of old Secret bytes after one update round).

import { setMaxListeners } from 'node:events';

const [kubeconfig, countText, variant = 'full', consumer = 'next'] = process.argv.slice(2);
const count = Number(countText);
const store = variant === 'client-node' ? await clientNodeStore() : await fullStore();
// after the imports and the store: what the process costs before any Secret
globalThis.gc?.();
const baseline = process.memoryUsage().rss;
// CERTLOOP_BENCH_DETAIL: where the memory is at each moment measured (mappings and V8 spaces), not only the last
const moments = {};
const { memoryDetail } = process.env.CERTLOOP_BENCH_DETAIL ? await import('./k8s-memory-detail.mjs') : {};
const moment = (name) => {
  if (!memoryDetail) return;
  const { spaces, mappings } = memoryDetail();
  moments[name] = {
    rssMiB: Math.round(process.memoryUsage().rss / 104857.6) / 10,
    mappings,
    newSpace: spaces.new_space,
  };
};
moment('baseline');

async function fullStore() {
  const { KubernetesSecretStore, loadKubeConfig } = await import('@certloop/k8s-store');
  return new KubernetesSecretStore({ kubeConfig: loadKubeConfig({ kubeconfig }), namespace: 'gloo-mesh' });
}

async function clientNodeStore() {
  const { KubernetesSecretStore } = await import('@certloop/k8s-store');
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
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
const onEvent = (event) => {
  if (event.type === 'initial' && ++initial === count) onInitial();
  if (event.type === 'updated' && ++updated === count) onUpdated();
};
for (let i = 0; i < count; i++) {
  if (consumer === 'next') {
    const sub = store.watch(`secret-${i}`, { signal: abort.signal });
    const step = (result) => {
      if (result.done) return;
      onEvent(result.value);
      void sub.next().then(step);
    };
    void sub.next().then(step);
    continue;
  }
  void (async () => {
    for await (const event of store.watch(`secret-${i}`, { signal: abort.signal })) onEvent(event);
  })();
}
await allInitial;
const syncedMs = performance.now() - started;
// the peak during the first LIST (maxRSS is the process's high-water mark so far)
const syncPeakRss = process.resourceUsage().maxRSS * 1024;
moment('synced');
// the parent has the emulator's process write every Secret once more
process.stderr.write('synced\n');
await allUpdated;
moment('updated, before the settle and GC');
// CERTLOOP_BENCH_SETTLE_MS: how long the process idles before measuring (default 300 ms)
await new Promise((r) => setTimeout(r, Number(process.env.CERTLOOP_BENCH_SETTLE_MS ?? 300)));
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
let detail;
if (memoryDetail) {
  detail = memoryDetail();
  detail.moments = moments;
  detail.syncPeakRssMiB = Math.round((syncPeakRss / (1024 * 1024)) * 10) / 10;
}
// CERTLOOP_BENCH_IDLE_MS: measure again after this long idle (V8's memory reducer gives back the young generation
// that the sync and the update round grew; default 0, not measured)
const idleMs = Number(process.env.CERTLOOP_BENCH_IDLE_MS ?? 0);
let idleRss;
if (idleMs > 0) {
  await new Promise((r) => setTimeout(r, idleMs));
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 100));
  idleRss = process.memoryUsage().rss;
}
// last: writing and summing a heap snapshot costs the process far more than it measures
if (detail && process.env.CERTLOOP_BENCH_HEAP_SNAPSHOT) {
  const { heapSnapshotSummary } = await import('./k8s-memory-detail.mjs');
  detail.heap = await heapSnapshotSummary(
    `${process.env.CERTLOOP_BENCH_HEAP_SNAPSHOT}-${variant}-${consumer}.heapsnapshot`,
  );
}
process.stdout.write(
  JSON.stringify({
    ...(detail && { detail }),
    ...(idleRss && { idleRss }),
    rss,
    heapUsed,
    heapTotal,
    external,
    arrayBuffers,
    baseline,
    syncPeakRss,
    syncedMs,
    lists: store.informer.reflector.stats.lists,
    watches: store.informer.reflector.stats.watches,
  }),
);
abort.abort();
await store.close();
