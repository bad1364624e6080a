/**
 * `@certloop/k8s-store/testing` startKubernetesApiEmulator: a small kube-apiserver for Secrets and Leases on a
 * loopback port, honouring `contracts/kubernetes-api.md`, that `kubectl` and `@kubernetes/client-node` use as
 * they would a real one. It writes a kubeconfig file for `kubectl --kubeconfig`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapRelayPki, MemorySecretStore, readTlsMaterial } from '@certloop/core';
import { KubeConfig } from '@kubernetes/client-node';
import type { EmulatorAuthOptions } from './auth.js';
import { EmulatorFaults } from './faults.js';
import { ObjectHandlers } from './handlers.js';
import { Namespaces } from './namespaces.js';
import { createRouter } from './router.js';
import { Storage } from './storage.js';
import { WatchHub } from './watch-hub.js';

export interface KubernetesApiEmulatorOptions {
  /** The namespace of the kubeconfig's context (default `default`). Every namespace exists. */
  readonly namespace?: string;
  /** How many changes the watch history keeps before a watch from an older revision is 410 (default 1000). */
  readonly historyLimit?: number;
  /** How often a watch that asked for bookmarks gets one (default 5000 ms). */
  readonly bookmarkIntervalMs?: number;
  /** Bearer-token auth (401 without a known token, 403 outside its rules); off by default. */
  readonly auth?: EmulatorAuthOptions;
  /** The token the emulator's own kubeconfig carries (default: the first of `auth.tokens`, or `emulator-token`). */
  readonly token?: string;
  /** Serve HTTPS with a fresh CA (in the kubeconfig as `certificate-authority-data`) instead of plain HTTP. */
  readonly https?: boolean;
  /** Port on 127.0.0.1 (default: any free port). */
  readonly port?: number;
}

export interface KubeConfigRequest {
  /** The bearer token this client sends (default the emulator's). */
  readonly token?: string;
  /** The context's namespace (default the emulator's). */
  readonly namespace?: string;
  /** The server URL (default the emulator's own), e.g. a proxy in front of it (`startCuttingProxy`). */
  readonly server?: string;
}

export interface KubernetesApiEmulator {
  /** `http://127.0.0.1:<port>`, or `https://` with `https: true` */
  readonly url: string;
  /** A client-node KubeConfig pointing at the emulator. */
  readonly kubeConfig: KubeConfig;
  /** A kubeconfig file `kubectl --kubeconfig` accepts (removed by `close()`). */
  readonly kubeconfigPath: string;
  readonly faults: EmulatorFaults;
  /** Another KubeConfig, e.g. with a different token (each elector its own, so faults can tell them apart). */
  kubeConfigFor(request: KubeConfigRequest): KubeConfig;
  /** The current revision (a list's resourceVersion). */
  revision(): number;
  /** How many watch streams are open. */
  openWatches(): number;
  /** Ends every stream and connection, stops the server, removes the kubeconfig file. Idempotent. */
  close(): Promise<void>;
}

function kubeconfigDocument(url: string, token: string, namespace: string, caPem: string | undefined) {
  // HTTPS: trust the emulator's own CA. Plain HTTP: client-node refuses it unless TLS verification is marked off
  // (there is no TLS to verify; kubectl accepts either).
  const cluster = caPem
    ? { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') }
    : { server: url, 'insecure-skip-tls-verify': true };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'certloop-emulator', cluster }],
    users: [{ name: 'certloop-emulator', user: { token } }],
    contexts: [
      { name: 'certloop-emulator', context: { cluster: 'certloop-emulator', user: 'certloop-emulator', namespace } },
    ],
    'current-context': 'certloop-emulator',
    preferences: {},
  };
}

/** A CA and a serving certificate for 127.0.0.1 and localhost, made with certloop's own CA. */
async function servingMaterial(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const store = new MemorySecretStore();
  const { names } = await bootstrapRelayPki({
    store,
    server: { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    token: false,
  });
  const material = readTlsMaterial((await store.get(names.server))!);
  return { caPem: material.trustBundlePem!, certPem: material.certificatePem!, keyPem: material.privateKeyPem! };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startKubernetesApiEmulator(
  options: KubernetesApiEmulatorOptions = {},
): Promise<KubernetesApiEmulator> {
  const namespace = options.namespace ?? 'default';
  const token = options.token ?? Object.keys(options.auth?.tokens ?? {})[0] ?? 'emulator-token';
  const storage = new Storage({ historyLimit: options.historyLimit });
  const faults = new EmulatorFaults();
  const hub = new WatchHub(storage, faults, options.bookmarkIntervalMs ?? 5000);
  faults.attach(hub, () => storage.compact());
  let address = '127.0.0.1:0';
  const router = createRouter({
    faults,
    auth: options.auth,
    handlers: new ObjectHandlers(storage),
    namespaces: new Namespaces(storage, namespace),
    hub,
    serverAddress: () => address,
  });
  const tls = options.https ? await servingMaterial() : undefined;
  const server: Server = tls
    ? createHttpsServer({ keepAlive: true, cert: tls.certPem, key: tls.keyPem }, router)
    : createServer({ keepAlive: true }, router);
  server.keepAliveTimeout = 30_000;
  const port = await listen(server, options.port ?? 0);
  address = `127.0.0.1:${port}`;
  const url = `${tls ? 'https' : 'http'}://${address}`;
  const dir = await mkdtemp(join(tmpdir(), 'certloop-k8s-emulator-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    `${JSON.stringify(kubeconfigDocument(url, token, namespace, tls?.caPem), null, 2)}\n`,
    {
      mode: 0o600,
    },
  );
  const kubeConfigFor = (request: KubeConfigRequest) => {
    const kc = new KubeConfig();
    const server = request.server ?? url;
    const doc = kubeconfigDocument(server, request.token ?? token, request.namespace ?? namespace, tls?.caPem);
    kc.loadFromOptions({
      clusters: [
        tls
          ? { name: 'certloop-emulator', server, caData: Buffer.from(tls.caPem).toString('base64') }
          : { name: 'certloop-emulator', server, skipTLSVerify: true },
      ],
      users: [{ name: 'certloop-emulator', token: doc.users[0]!.user.token }],
      contexts: [
        {
          name: 'certloop-emulator',
          cluster: 'certloop-emulator',
          user: 'certloop-emulator',
          namespace: request.namespace ?? namespace,
        },
      ],
      currentContext: 'certloop-emulator',
    });
    return kc;
  };
  let closing: Promise<void> | undefined;
  return {
    url,
    kubeConfig: kubeConfigFor({}),
    kubeconfigPath,
    faults,
    kubeConfigFor,
    revision: () => storage.revision,
    openWatches: () => hub.openCount,
    close: () => {
      closing ??= (async () => {
        hub.closeAll();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
