/**
 * Bench child (relay fleet): the RelayServer alone in its own process, so its RSS is its own. Bootstraps a relay
 * PKI in a memory store, serves on loopback with per-peer limits lifted (every simulated agent shares 127.0.0.1),
 * tells the parent its address over IPC, and on `stop` reports its peak RSS and counters.
 */
import { bootstrapRelayPki, MemorySecretStore, readTlsMaterial } from '@certloop/core';
import { RelayServer } from '../packages/agent-rotator/src/index.js';

const store = new MemorySecretStore();
const pki = await bootstrapRelayPki({ store, token: 'bench-relay-fleet-token-0123456789' });
const server = new RelayServer({
  store,
  address: '127.0.0.1:0',
  monitorExpiry: false,
  callRateLimit: { burst: 1e9, perSecond: 1e9 },
  heartbeatIntervalMs: 60_000,
});
const address = await server.start();
const root = readTlsMaterial((await store.get(pki.names.root))!);
const baselineRss = process.memoryUsage.rss();
process.send?.({
  kind: 'ready',
  address,
  token: 'bench-relay-fleet-token-0123456789',
  trustBundlePem: root.trustBundlePem,
  baselineRss,
});
process.on('message', async (m: { kind: string }) => {
  if (m.kind === 'sample') {
    process.send?.({ kind: 'sample', connected: server.metrics().connectedAgents, memory: process.memoryUsage() });
    return;
  }
  if (m.kind !== 'stop') return;
  // the kernel's high-water mark of this process's resident set
  const peakRss = Math.max(process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
  const metrics = server.metrics();
  process.send?.(
    { kind: 'stopped', peakRss, baselineRss, cpu: process.cpuUsage(), metrics: { ...metrics, secrets: [] } },
    () => {
      void server.stop({ graceMs: 100 }).finally(() => process.exit(0));
    },
  );
});
