/**
 * `@certloop/k8s-store` loadKubeConfig: the kubeconfig a user expects, by client-go's default loading rules (an
 * explicit file, else `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account), then the named
 * context, if any, without loading `@kubernetes/client-node`'s entry point.
 *
 * Why not client-node's `KubeConfig`: its module (`dist/config.js`) statically imports client-node's whole generated
 * API (`dist/gen/index.js`), 60-70 MiB of RSS for a process that never calls it (bench/k8s-import-cost.ts). The
 * package has no `exports` map, so its smaller modules can be imported alone: this file parses with client-node's
 * own `config_types.js` (the same field names, defaults and validation) and js-yaml, and applies credentials as
 * client-node's `applyToHTTPSOptions` does: token, token file (the in-cluster service account, re-read every
 * 60 s), client certificate and key (data or file), CA (data or file), `insecure-skip-tls-verify`,
 * `tls-server-name`, impersonation, basic auth, and exec plugins through client-node's own `ExecAuth` (its
 * credential cache included). The rarer forms (`auth-provider` azure, gcp and oidc, and `proxy-url`) are handed
 * to a client-node `KubeConfig` built from the same entries, loaded on first use only.
 */
import fs from 'node:fs';
import type https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { CertloopError } from '@certloop/core/base';
import type { KubeConfig as ClientNodeKubeConfig } from '@kubernetes/client-node';
import {
  type Cluster,
  type Context,
  newClusters,
  newContexts,
  newUsers,
  type User,
} from '@kubernetes/client-node/dist/config_types.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';
import yaml from 'js-yaml';

/**
 * What the store and the lease lock need of a kubeconfig: the cluster, and the credentials applied to a request.
 * Both a client-node `KubeConfig` and what {@link loadKubeConfig} returns are one.
 */
export interface KubeConfigLike {
  getCurrentCluster(): { readonly server: string; readonly proxyUrl?: string } | null;
  /** Sets the request's TLS options and headers (called before every request, so rotated credentials are used). */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export interface LoadKubeConfigOptions {
  /** A kubeconfig file (`--kubeconfig`); default the loading rules. */
  readonly kubeconfig?: string;
  /** A context name (`--context`); default the file's current context. */
  readonly context?: string;
}

const SERVICEACCOUNT_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * A loaded kubeconfig: the accessors of client-node's `KubeConfig` that describe it, and `applyToHTTPSOptions`.
 * `toClientNode()` gives a client-node `KubeConfig` with the same entries (it loads client-node) for code that
 * wants its generated API.
 */
export class LoadedKubeConfig implements KubeConfigLike {
  #clusters: Cluster[] = [];
  #users: User[] = [];
  #contexts: Context[] = [];
  #currentContext = '';
  #exec: ExecAuth | undefined;
  #file: FileAuth | undefined;
  #clientNode: Promise<ClientNodeKubeConfig> | undefined;

  getClusters(): readonly Cluster[] {
    return this.#clusters;
  }

  getUsers(): readonly User[] {
    return this.#users;
  }

  getContexts(): readonly Context[] {
    return this.#contexts;
  }

  getCurrentContext(): string {
    return this.#currentContext;
  }

  setCurrentContext(name: string): void {
    this.#currentContext = name;
  }

  getContextObject(name: string): Context | null {
    return findObject(this.#contexts, name, 'context');
  }

  getCurrentCluster(): Cluster | null {
    const context = this.getContextObject(this.#currentContext);
    return context ? findObject(this.#clusters, context.cluster, 'cluster') : null;
  }

  getCurrentUser(): User | null {
    const context = this.getContextObject(this.#currentContext);
    return context ? findObject(this.#users, context.user, 'user') : null;
  }

  /** As client-node's `loadFromString` (YAML or JSON; throws on an invalid entry). */
  loadFromString(text: string): void {
    const doc = (yaml.load(text) ?? {}) as Record<string, unknown>;
    this.#clusters = newClusters(doc.clusters);
    this.#contexts = newContexts(doc.contexts);
    this.#users = newUsers(doc.users);
    this.#currentContext = doc['current-context'] as string;
  }

  /** As client-node's `loadFromFile`: relative file paths in it are relative to its directory. */
  loadFromFile(file: string): void {
    this.loadFromString(fs.readFileSync(file, 'utf8'));
    const root = path.dirname(file);
    const absolute = (p: string) => (path.isAbsolute(p) ? p : path.join(root, p));
    for (const cluster of this.#clusters) if (cluster.caFile) cluster.caFile = absolute(cluster.caFile);
    for (const user of this.#users) {
      if (user.certFile) user.certFile = absolute(user.certFile);
      if (user.keyFile) user.keyFile = absolute(user.keyFile);
    }
  }

  /** As client-node's `loadFromDefault` (except its Windows-only fallback of asking WSL for a kubeconfig). */
  loadFromDefault(): void {
    const files = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f);
    if (files.length > 0) {
      this.loadFromFile(files[0]!);
      for (const file of files.slice(1)) {
        const more = new LoadedKubeConfig();
        more.loadFromFile(file);
        this.#merge(more);
      }
      return;
    }
    const home = homeKubeconfig();
    if (home && exists(home)) {
      this.loadFromFile(home);
      return;
    }
    if (exists(`${SERVICEACCOUNT_ROOT}/token`)) {
      this.loadFromCluster();
      return;
    }
    this.#clusters = [{ name: 'cluster', server: 'http://localhost:8080', skipTLSVerify: false }];
    this.#users = [{ name: 'user' }];
    this.#contexts = [{ name: 'loaded-context', cluster: 'cluster', user: 'user' }];
    this.#currentContext = 'loaded-context';
  }

  /** As client-node's `loadFromCluster`: the pod's service account (its token re-read every 60 s). */
  loadFromCluster(pathPrefix = ''): void {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT;
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
    const serverHost = host && net.isIPv6(host) ? `[${host}]` : host;
    this.#clusters = [
      {
        name: 'inCluster',
        caFile: `${pathPrefix}${SERVICEACCOUNT_ROOT}/ca.crt`,
        server: `${scheme}://${serverHost}:${port}`,
        skipTLSVerify: false,
      },
    ];
    this.#users = [
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: `${pathPrefix}${SERVICEACCOUNT_ROOT}/token` } },
      },
    ];
    const namespaceFile = `${pathPrefix}${SERVICEACCOUNT_ROOT}/namespace`;
    const namespace = exists(namespaceFile) ? fs.readFileSync(namespaceFile, 'utf8') : undefined;
    this.#contexts = [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace }];
    this.#currentContext = 'inClusterContext';
  }

  /** As client-node's `mergeConfig`: a later file's current context wins; a duplicate name throws. */
  #merge(other: LoadedKubeConfig): void {
    if (other.#currentContext) this.#currentContext = other.#currentContext;
    const add = <T extends { name: string }>(list: T[], items: readonly T[], what: string) => {
      for (const item of items) {
        if (list.some((held) => held.name === item.name)) throw new Error(`Duplicate ${what}: ${item.name}`);
        list.push(item);
      }
    };
    add(this.#clusters, other.#clusters, 'cluster');
    add(this.#users, other.#users, 'user');
    add(this.#contexts, other.#contexts, 'context');
  }

  /** As client-node's `applyToHTTPSOptions`, without making an agent (the caller keeps one keep-alive agent). */
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (cluster?.proxyUrl || needsClientNode(user)) {
      this.#clientNode ??= this.toClientNode();
      await (await this.#clientNode).applyToHTTPSOptions(opts);
      return;
    }
    if (user) {
      if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
      if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
      const ca = cluster ? fileOrData(cluster.caFile, cluster.caData) : null;
      if (ca) opts.ca = ca;
      const cert = fileOrData(user.certFile, user.certData);
      if (cert) opts.cert = cert;
      const key = fileOrData(user.keyFile, user.keyData);
      if (key) opts.key = key;
      opts.headers ??= {};
      const headers = opts.headers as Record<string, string>;
      if (user.impersonateUser != null) headers['Impersonate-User'] = user.impersonateUser;
      if (isExec(user)) {
        this.#exec ??= new ExecAuth();
        await this.#exec.applyAuthentication(user, opts);
      } else if (user.authProvider?.config?.tokenFile) {
        this.#file ??= new FileAuth();
        await this.#file.applyAuthentication(user, opts);
      }
      if (user.token) headers.Authorization = `Bearer ${user.token}`;
      if (user.username) opts.auth = `${user.username}:${user.password}`;
    }
    // as client-node's agent: plain HTTP only where TLS verification is explicitly off
    if (cluster?.server.startsWith('http:') && !cluster.skipTLSVerify) {
      throw new CertloopError(
        'CERTLOOP_INVALID_CONFIG',
        'the kubeconfig names a plain-HTTP server without insecure-skip-tls-verify (client-node refuses it too)',
        { details: { server: cluster.server } },
      );
    }
  }

  /** A client-node `KubeConfig` with the same clusters, users, contexts and current context (loads client-node). */
  async toClientNode(): Promise<ClientNodeKubeConfig> {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: this.#clusters,
      users: this.#users,
      contexts: this.#contexts,
      currentContext: this.#currentContext,
    });
    return kc;
  }
}

/** Throws `CERTLOOP_INVALID_CONFIG` when the file cannot be read, the context does not exist or no cluster results. */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const kc = new LoadedKubeConfig();
  try {
    if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', `cannot load the kubeconfig: ${(err as Error).message}`, {
      cause: err,
      details: { kubeconfig: options.kubeconfig },
    });
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', `the kubeconfig has no context "${options.context}"`, {
        details: { context: options.context, contexts: kc.getContexts().map((c) => c.name) },
      });
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the kubeconfig has no cluster for its current context', {
      details: { context: kc.getCurrentContext() },
    });
  }
  return kc;
}

/** The namespace of the current context, if it names one. */
export function contextNamespace(kc: {
  getCurrentContext(): string;
  getContextObject(name: string): { readonly namespace?: string } | null;
}): string | undefined {
  return kc.getContextObject(kc.getCurrentContext())?.namespace;
}

/** As client-node's authenticator order: azure, gcp, exec, token file, oidc. */
function needsClientNode(user: User | null): boolean {
  const provider = user?.authProvider;
  if (!provider) return false;
  if (provider.name === 'azure' || provider.name === 'gcp') return true;
  if (isExec(user!) || provider.config?.tokenFile) return false;
  return provider.name === 'oidc';
}

function isExec(user: User): boolean {
  return Boolean(user.exec || user.authProvider?.name === 'exec' || user.authProvider?.config?.exec);
}

/** client-node's `findObject`: a named entry, unwrapped from `{ name, [key]: ... }` when nested. */
function findObject<T extends { name: string }>(list: readonly T[], name: string, key: string): T | null {
  for (const obj of list) {
    if (obj.name !== name) continue;
    const inner = (obj as unknown as Record<string, (T & { name: string }) | undefined>)[key];
    if (inner) {
      inner.name = name;
      return inner;
    }
    return obj;
  }
  return null;
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | null {
  if (file) return fs.readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return null;
}

function exists(file: string): boolean {
  try {
    fs.accessSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * `~/.kube/config` as client-node finds it (`findHomeDir`): under HOME when it is accessible; on Windows the first
 * of HOME, HOMEDRIVE+HOMEPATH and USERPROFILE that holds one.
 */
function homeKubeconfig(): string | null {
  if (process.platform !== 'win32') {
    const home = process.env.HOME;
    return home && exists(home) ? path.join(home, '.kube', 'config') : null;
  }
  const drive =
    process.env.HOMEDRIVE && process.env.HOMEPATH ? path.join(process.env.HOMEDRIVE, process.env.HOMEPATH) : '';
  for (const dir of [process.env.HOME, drive, process.env.USERPROFILE]) {
    if (dir && exists(path.join(dir, '.kube', 'config'))) return path.join(dir, '.kube', 'config');
  }
  return null;
}
