// Child of bench/k8s.ts: the floor under the RSS figure. The same imports and kubeconfig as k8s-watch-child.mjs,
// one GET of `secret-0`, then `count` copies of that Secret (one exact-size buffer each, as the informer keeps
// them) in a plain Map: what holding the bytes alone costs, with no list, watch or subscription. Reports RSS after
// the same settle and GC as the watching child.
import { KubernetesSecretStore, loadKubeConfig } from '@certloop/k8s-store';

const [kubeconfig, countText] = process.argv.slice(2);
const count = Number(countText);
const store = new KubernetesSecretStore({ kubeConfig: loadKubeConfig({ kubeconfig }), namespace: 'gloo-mesh' });
const secret = await store.get('secret-0');
if (!secret) throw new Error('secret-0 is missing');
const held = new Map();
const sizes = Object.values(secret.data).map((v) => v.byteLength);
const total = sizes.reduce((a, b) => a + b, 0);
for (let i = 0; i < count; i++) {
  const backing = Buffer.allocUnsafeSlow(total);
  const data = {};
  let offset = 0;
  for (const [key, value] of Object.entries(secret.data)) {
    backing.set(value, offset);
    data[key] = new Uint8Array(backing.buffer, offset, value.byteLength);
    offset += value.byteLength;
  }
  const name = `secret-${i}`;
  held.set(name, { ...secret, name, data, labels: { ...secret.labels }, annotations: { ...secret.annotations } });
}
await new Promise((r) => setTimeout(r, 300));
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const { rss } = process.memoryUsage();
process.stdout.write(JSON.stringify({ rss, held: held.size }));
await store.close();
