/**
 * examples/k8s-controller: a custom controller on `@certloop/k8s-store`.
 *
 * Bootstraps the relay PKI in `gloo-mesh` (each Secret only if missing), runs three agent replicas that elect their
 * rotator with a Lease, serves mTLS with hot reload of both ends, and exposes the expiry metrics. Against the
 * embedded Kubernetes API emulator by default (it prints the kubeconfig, so `kubectl get secrets -w` can watch it
 * live), or a real cluster with `--kubeconfig`/`--context`. Under CI it ends by itself after two rotations.
 */
import { request } from 'node:https';
import {
  authorityFromSecret,
  bootstrapRelayPki,
  CredentialProvider,
  ExpiryMonitor,
  DEFAULT_RELAY_SECRET_NAMES as N,
  registerExpiryMetrics,
} from '@certloop/core';
import { type KubeConfigLike, KubernetesSecretStore, loadKubeConfig } from '@certloop/k8s-store';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from '@certloop/k8s-store/testing';
import pc from 'picocolors';
import { Registry } from 'prom-client';
import { parseOptions } from './options.js';
import { type Replica, startReplica } from './replica.js';
import { startMetricsServer, startMtlsServer } from './server.js';

const log = (text: string) => console.log(`${pc.dim(new Date().toISOString().slice(11, 23))} ${text}`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  let emulator: KubernetesApiEmulator | undefined;
  let kubeConfig: KubeConfigLike;
  if (options.kubeconfig || options.context) {
    kubeConfig = loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context });
    log(`cluster ${pc.bold(kubeConfig.getCurrentCluster()?.server ?? '?')}, namespace ${options.namespace}`);
  } else {
    emulator = await startKubernetesApiEmulator({ namespace: options.namespace });
    kubeConfig = emulator.kubeConfig;
    log(`embedded Kubernetes API emulator at ${pc.bold(emulator.url)}`);
    log(
      `watch it live: ${pc.cyan(`kubectl --kubeconfig ${emulator.kubeconfigPath} get secrets,leases -n ${options.namespace} -w`)}`,
    );
  }
  const lifetimeSeconds = options.ci ? 16 : 120;
  const store = new KubernetesSecretStore({ kubeConfig, namespace: options.namespace });
  const boot = await bootstrapRelayPki({ store });
  log(
    `relay PKI: created ${boot.created.length ? boot.created.join(', ') : 'nothing'}; existing ${boot.existing.join(', ') || 'none'}`,
  );
  // no backdating, so short demo lifetimes rotate at exactly half their life
  const ca = authorityFromSecret((await store.get(N.signing))!, { policy: { backdateSeconds: 0 } });

  const serverProvider = new CredentialProvider({ name: N.server, watcher: store, usage: 'serverAuth' });
  await serverProvider.start();
  await serverProvider.ready();
  const replicas: Replica[] = ['agent-0', 'agent-1', 'agent-2'].map((id) =>
    startReplica({
      id,
      kubeConfig,
      namespace: options.namespace,
      ca,
      trustBundlePem: boot.trustBundlePem,
      lifetimeSeconds,
    }),
  );
  for (const r of replicas) {
    r.elector.subscribe((e) => {
      if (e.type === 'elected') log(`${pc.green(r.id)} elected rotator`);
      if (e.type === 'lost') log(`${pc.yellow(r.id)} lost the lease: ${e.reason}`);
    });
    r.rotator.subscribe((e) => {
      if (e.type === 'succeeded') log(`${r.id} rotated ${N.client}: serial ${pc.bold(e.serialNumber)}`);
      if (e.type === 'failed') log(`${pc.red(r.id)} rotation failed: ${e.error.code}`);
    });
  }
  const { server, port } = await startMtlsServer(serverProvider);
  const monitor = new ExpiryMonitor({ watcher: store, secrets: [N.root, N.signing, N.server, N.client], ratio: 0.5 });
  await monitor.start();
  const registry = new Registry();
  const unregister = await registerExpiryMetrics({ monitor, registry });
  const metrics = await startMetricsServer(registry);
  log(`mTLS server on https://127.0.0.1:${port}, metrics on http://127.0.0.1:${metrics.port}/metrics`);

  // each second, replica 0 connects with whatever client certificate its provider holds now
  const agent = replicas[0]!;
  await agent.provider.ready();
  const served = new Set<string>();
  const stopAt = options.durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationMs;
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
  });
  while (!stopping && Date.now() < stopAt && !(options.ci && served.size >= 3)) {
    const serial = await callServer(port, agent.provider).catch((err: Error) => `error ${err.message}`);
    if (!served.has(serial)) {
      served.add(serial);
      log(`server saw client certificate ${pc.bold(serial)} (${served.size} so far)`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const statusLine = monitor
    .snapshot()
    .map((s) => `${s.name}=${s.state}`)
    .join(' ');
  log(`expiry: ${statusLine}`);
  const text = await registry.metrics();
  log(
    `metrics: ${text.split('\n').filter((l) => l.startsWith('certloop_') && l.includes(N.client)).length} series for ${N.client}`,
  );

  unregister();
  monitor.stop();
  await Promise.all(replicas.map((r) => r.stop()));
  serverProvider.close();
  server.close();
  metrics.server.close();
  await store.close();
  await emulator?.close();
  const rotations = served.size - 1;
  log(`done: ${rotations} rotation(s) served with hot reload`);
  return options.ci && rotations < 2 ? 1 : 0;
}

function callServer(port: number, provider: CredentialProvider): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: 'localhost', path: '/', agent: false, ...provider.secureContextOptions() },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(JSON.parse(body).clientSerial as string));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

process.exitCode = await main();
