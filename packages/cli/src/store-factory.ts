/**
 * `certloop` store factory: the `SecretStore` (and `Watcher`) a command works on, from its flags.
 *
 * `--store file --dir DIR` opens a `FileSecretStore` (the layout of a Kubernetes Secret mounted into a pod).
 * `--store kubernetes` (`--kubeconfig`, `--context`, `--namespace`, default `gloo-mesh`) opens a
 * `KubernetesSecretStore` of `@certloop/k8s-store` on the Secrets of that namespace, with the kubeconfig loading
 * rules of kubectl. {@link STORE_OPENERS} holds one opener per kind.
 */
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  DEFAULT_RELAY_NAMESPACE,
  DEFAULT_RELAY_SECRET_NAMES,
  FileSecretStore,
  type SecretStore,
  type Watcher,
} from '@certloop/core';
// the Kubernetes adapter (and @kubernetes/client-node, axios...) is loaded only by --store kubernetes
import type { KubeConfigLike, LoadedKubeConfig } from '@certloop/k8s-store';
import { cliError } from './lib/errors.js';

export const STORE_KINDS = ['file', 'kubernetes'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** The store flags, as parsed. */
export interface StoreFlags {
  readonly store: StoreKind;
  readonly dir?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
}

export interface OpenStoreRequest {
  readonly flags: StoreFlags;
  readonly cwd: string;
  /** true for commands that create the store (`init`): a missing file store directory is created. */
  readonly create: boolean;
  readonly signal?: AbortSignal;
}

/** An open store: both a `SecretStore` and a `Watcher`; `close()` ends its watches. */
export interface OpenedStore {
  readonly store: SecretStore & Watcher;
  /** Where it is, for people: `file /var/certloop`, `kubernetes gloo-mesh@kind-mgmt`. */
  readonly description: string;
  /** With `--store kubernetes`: the cluster and namespace, for Lease election beside the Secrets. */
  readonly kubernetes?: { readonly kubeConfig: KubeConfigLike; readonly namespace: string };
  close(): Promise<void>;
}

export type StoreOpener = (request: OpenStoreRequest) => Promise<OpenedStore>;

async function openFileStore({ flags, cwd, create }: OpenStoreRequest): Promise<OpenedStore> {
  if (!flags.dir) {
    throw cliError('CERTLOOP_USAGE', '--store file needs a directory', 'pass --dir DIR (or set CERTLOOP_DIR)');
  }
  const directory = resolve(cwd, flags.dir);
  if (!create) {
    // a read needs the store to be there: say so, rather than report every secret missing
    const info = await stat(directory).catch((err: NodeJS.ErrnoException) => {
      throw cliError(
        'CERTLOOP_UNAVAILABLE',
        `the store directory ${flags.dir} cannot be reached (${err.code ?? 'error'})`,
        err.code === 'ENOENT'
          ? 'check --dir, or create the store with `certloop init --dir DIR`'
          : 'check --dir and its permissions',
        err,
      );
    });
    if (!info.isDirectory()) {
      throw cliError('CERTLOOP_UNAVAILABLE', `the store path ${flags.dir} is not a directory`, 'check --dir');
    }
    await readdir(directory).catch((err: NodeJS.ErrnoException) => {
      throw cliError(
        'CERTLOOP_UNAVAILABLE',
        `the store directory ${flags.dir} cannot be read (${err.code})`,
        'check its permissions',
        err,
      );
    });
  }
  const store = new FileSecretStore({ directory, pollIntervalMs: 1000 });
  return { store, description: `file ${directory}`, close: () => store.close() };
}

async function openKubernetesStore({ flags, cwd, signal }: OpenStoreRequest): Promise<OpenedStore> {
  const namespace = flags.namespace ?? DEFAULT_RELAY_NAMESPACE;
  const { KubernetesSecretStore, loadKubeConfig } = await import('@certloop/k8s-store');
  let kubeConfig: LoadedKubeConfig;
  try {
    kubeConfig = loadKubeConfig({
      ...(flags.kubeconfig ? { kubeconfig: resolve(cwd, flags.kubeconfig) } : {}),
      ...(flags.context ? { context: flags.context } : {}),
    });
  } catch (err) {
    throw cliError(
      'CERTLOOP_INVALID_CONFIG',
      err instanceof Error ? err.message : String(err),
      'check --kubeconfig (or KUBECONFIG) and --context',
      err,
    );
  }
  const store = new KubernetesSecretStore({
    kubeConfig,
    namespace,
    retry: { attempts: 3, initialDelayMs: 200, maxDelayMs: 1000 },
    requestTimeoutMs: 10_000,
  });
  try {
    // one read up front: an unreachable cluster or a forbidden namespace is said once, clearly, before any work
    await store.get(DEFAULT_RELAY_SECRET_NAMES.token, { signal });
  } catch (err) {
    await store.close();
    throw err;
  }
  const context = kubeConfig.getCurrentContext();
  return {
    store,
    description: `kubernetes ${namespace}@${context}`,
    kubernetes: { kubeConfig, namespace },
    close: () => store.close(),
  };
}

/** One opener per store kind: the place `@certloop/k8s-store` plugs in. */
export const STORE_OPENERS: Record<StoreKind, StoreOpener> = {
  file: openFileStore,
  kubernetes: openKubernetesStore,
};

/** Opens the store the flags name. Throws `CERTLOOP_USAGE`, `CERTLOOP_UNAVAILABLE` or `CERTLOOP_NOT_IMPLEMENTED`. */
export async function openStore(request: OpenStoreRequest): Promise<OpenedStore> {
  const opener = STORE_OPENERS[request.flags.store];
  if (!opener) throw cliError('CERTLOOP_USAGE', `unknown store kind ${JSON.stringify(request.flags.store)}`);
  return opener(request);
}
