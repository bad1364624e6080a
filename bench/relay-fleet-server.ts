/**
 * Bench child (relay fleet): the RelayServer in processes of its own, so its CPU and RSS are its own. Bootstraps a
 * relay PKI in a file store (replicas share it), serves on loopback with per-peer limits lifted (every simulated
 * agent shares 127.0.0.1). With `CERTLOOP_BENCH_REPLICAS` > 1 this process is the cluster primary
 * (`forkRelayReplicas`): it only supervises, and sums its workers' CPU, RSS and streams. Messages: `ready`,
 * `sample` (CPU so far, streams, RSS, renewals; per replica: streams and renewals), `stop` (peak RSS, CPU,
 * counters). The per-address call limit is set as the package README sizes it for every agent behind one address
 * (127.0.0.1 here): `CERTLOOP_BENCH_CALL_BURST` calls at once and `CERTLOOP_BENCH_CALL_RATE` per second.
 * The relay and core are the built packages (what `certloop server` runs), not their TypeScript through tsx, unless
 * `CERTLOOP_BENCH_FROM_SOURCE=1` (relay-fleet.ts decides the import conditions).
 */
import cluster from 'node:cluster';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkRelayReplicas, RelayServer, replicaIndex } from '@certloop/agent-rotator';
import { bootstrapRelayPki, FileSecretStore, readTlsMaterial } from '@certloop/core';

const TOKEN = 'bench-relay-fleet-token-0123456789';
const replicas = Number(process.env.CERTLOOP_BENCH_REPLICAS ?? 1);
const callRateLimit = {
  burst: Number(process.env.CERTLOOP_BENCH_CALL_BURST ?? 1e9),
  perSecond: Number(process.env.CERTLOOP_BENCH_CALL_RATE ?? 1e9),
};

interface Sample {
  connected: number;
  rss: number;
  heapUsed: number;
  peakRss: number;
  cpu: NodeJS.CpuUsage;
  issued: number;
  renewals: number;
  refused: Record<string, number>;
  pid: number;
}

async function serve(directory: string): Promise<{ address: string; sample(): Sample; stop(): Promise<void> }> {
  const store = new FileSecretStore({ directory, pollIntervalMs: 500 });
  const server = new RelayServer({
    store,
    address: '127.0.0.1:0',
    monitorExpiry: false,
    callRateLimit,
    heartbeatIntervalMs: 60_000,
    republishCrl: (replicaIndex() ?? 0) === 0,
  });
  const address = await server.start();
  return {
    address,
    sample: () => {
      const m = server.metrics();
      return {
        connected: m.connectedAgents,
        rss: process.memoryUsage.rss(),
        heapUsed: process.memoryUsage().heapUsed,
        peakRss: Math.max(process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024),
        cpu: process.cpuUsage(),
        issued: m.issued,
        renewals: m.renewals,
        pid: process.pid,
        refused: m.refused as Record<string, number>,
      };
    },
    stop: async () => {
      await server.stop({ graceMs: 100 });
      await store.close();
    },
  };
}

if (cluster.isWorker) {
  const local = await serve(process.env.CERTLOOP_BENCH_DIR!);
  process.send?.({ kind: 'listening', address: local.address });
  process.on('message', async (m: { kind: string }) => {
    if (m.kind !== 'sample') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ kind: 'sample', sample: local.sample() });
  });
  process.on('SIGTERM', () => void local.stop().finally(() => process.exit(0)));
} else {
  const directory = mkdtempSync(join(tmpdir(), 'relay-fleet-'));
  process.env.CERTLOOP_BENCH_DIR = directory;
  const store = new FileSecretStore({ directory });
  const pki = await bootstrapRelayPki({ store, token: TOKEN });
  const root = readTlsMaterial((await store.get(pki.names.root))!);
  await store.close();
  let samples: () => Promise<Sample[]>;
  let killReplica: ((index: number) => Promise<void>) | undefined;
  let stopAll: () => Promise<void>;
  let address: string;
  if (replicas > 1) {
    const replies: Array<{ index: number; message: { kind: string; sample?: Sample; address?: string } }> = [];
    const set = forkRelayReplicas({
      count: replicas,
      exec: fileURLToPath(import.meta.url),
      onMessage: (index, message) => replies.push({ index, message: message as { kind: string } }),
    });
    const wait = async (pred: () => boolean) => {
      while (!pred()) await new Promise((r) => setTimeout(r, 10));
    };
    await wait(() => replies.filter((r) => r.message.kind === 'listening').length === replicas);
    address = replies.find((r) => r.message.kind === 'listening')!.message.address!;
    samples = async () => {
      const before = replies.length;
      set.broadcast({ kind: 'sample' });
      await wait(() => replies.slice(before).filter((r) => r.message.kind === 'sample').length === replicas);
      return replies
        .slice(before)
        .filter((r) => r.message.kind === 'sample')
        .sort((a, b) => a.index - b.index)
        .map((r) => r.message.sample!);
    };
    stopAll = () => set.stop({ graceMs: 2000 });
    killReplica = async (index) => {
      const listening = () => replies.filter((r) => r.message.kind === 'listening').length;
      const before = listening();
      set.workers.get(index)?.process.kill('SIGKILL');
      await wait(() => listening() > before);
    };
  } else {
    const local = await serve(directory);
    address = local.address;
    samples = async () => [local.sample()];
    stopAll = () => local.stop();
  }
  /** Per replica: held streams, renewals, pid, CPU (ms). */
  type PerReplica = [number, number, number, number];
  const total = async (): Promise<Sample & { processes: number; perReplica: PerReplica[]; primaryCpuMs: number }> => {
    const all = await samples();
    const refused: Record<string, number> = {};
    for (const s of all) for (const [code, n] of Object.entries(s.refused)) refused[code] = (refused[code] ?? 0) + n;
    const own = process.cpuUsage();
    const sum = (f: (s: Sample) => number) => all.reduce((t, s) => t + f(s), 0);
    return {
      processes: all.length,
      connected: sum((s) => s.connected),
      rss: sum((s) => s.rss),
      heapUsed: sum((s) => s.heapUsed),
      peakRss: sum((s) => s.peakRss),
      issued: sum((s) => s.issued),
      renewals: sum((s) => s.renewals),
      refused,
      perReplica: all.map((s): PerReplica => [s.connected, s.renewals, s.pid, (s.cpu.user + s.cpu.system) / 1000]),
      primaryCpuMs: (own.user + own.system) / 1000,
      pid: process.pid,
      cpu:
        replicas > 1
          ? { user: sum((s) => s.cpu.user) + own.user, system: sum((s) => s.cpu.system) + own.system }
          : all[0]!.cpu,
    };
  };
  const idle = await total();
  process.send?.({
    kind: 'ready',
    address,
    token: TOKEN,
    trustBundlePem: root.trustBundlePem ?? root.certificatePem,
    baselineRss: idle.rss,
    cpu: idle.cpu,
  });
  process.on('message', async (m: { kind: string }) => {
    if (m.kind === 'sample') {
      // retained memory: collect garbage first (the children run with --expose-gc)
      (globalThis as { gc?: () => void }).gc?.();
      const t = await total();
      process.send?.({
        kind: 'sample',
        connected: t.connected,
        memory: { rss: t.rss, heapUsed: t.heapUsed },
        cpu: t.cpu,
        renewals: t.renewals,
        perReplica: t.perReplica,
        primaryCpuMs: t.primaryCpuMs,
        refused: t.refused,
      });
      return;
    }
    if (m.kind === 'kill') {
      // the reconnect storm: replica 0 dies (SIGKILL); forkRelayReplicas starts a new one after a second, and
      // `restarted` says when it listens again
      await killReplica?.(0);
      process.send?.({ kind: 'restarted' });
      return;
    }
    if (m.kind !== 'stop') return;
    const t = await total();
    process.send?.(
      {
        kind: 'stopped',
        peakRss: t.peakRss,
        baselineRss: idle.rss,
        cpu: t.cpu,
        metrics: { issued: t.issued, refused: t.refused },
      },
      () => void stopAll().finally(() => process.exit(0)),
    );
  });
}
