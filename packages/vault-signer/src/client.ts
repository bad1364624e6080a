/**
 * `@certloop/vault-signer` internal: the node-vault client, used so that a token goes out only when the caller hands
 * one in (node-vault's own remembered token is always cleared), every call has a timeout, and an `AbortSignal`
 * stops the wait (node-vault 0.12 takes no signal: the answer of an aborted call is dropped).
 */
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { abortError, throwIfAborted } from '@certloop/core';
import nodeVault from 'node-vault';
import { type VaultCallKind, vaultError } from './errors.js';
import { schemaChecker } from './schema-check.js';
import { type RequestLayerAnswer, type RequestLayerOptions, requestLayer } from './transport.js';

export interface VaultClientOptions {
  readonly endpoint: string;
  readonly namespace?: string | undefined;
  readonly timeoutMs: number;
  readonly requestOptions?: Readonly<Record<string, unknown>> | undefined;
  /** `certloop` (default): the lean layer of transport.ts; `node-vault`: node-vault's own (axios). */
  readonly httpLayer?: 'certloop' | 'node-vault' | undefined;
}

export interface CallOptions {
  /** The token to send; none for logins and unauthenticated reads. */
  readonly token?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** A Vault answer: the envelope node-vault resolves with. */
export interface VaultAnswer {
  readonly data?: Record<string, unknown> | null;
  readonly auth?: {
    readonly client_token?: string;
    readonly lease_duration?: number;
    readonly renewable?: boolean;
  } | null;
  readonly warnings?: readonly string[] | null;
  readonly [key: string]: unknown;
}

/**
 * node-vault `require`s mustache; where `require` resolves the `import` condition (require(esm) on Node >= 20.19 with
 * `--conditions=import`, as test runners set), it gets mustache's ES module namespace and breaks. node-vault takes
 * the template engine as an option, so it is handed the CommonJS or ES build, whichever loads.
 */
function templateEngine(): { render: (template: string, view: unknown) => string } {
  const loaded = createRequire(import.meta.url)('mustache') as { render?: unknown; default?: { render: unknown } };
  return (typeof loaded.render === 'function' ? loaded : loaded.default) as {
    render: (template: string, view: unknown) => string;
  };
}

export class VaultClient {
  readonly #vault: nodeVault.client;
  readonly #timeoutMs: number;
  readonly #requestOptions: Readonly<Record<string, unknown>>;
  readonly #agent: Agent | undefined;
  /** certloop's request layer, when node-vault runs on it (writes go to it directly). */
  #layer: ((options: RequestLayerOptions) => Promise<RequestLayerAnswer>) | undefined;
  #closeLayer: (() => void) | undefined;
  /** What every direct write sends besides its own method, URI, headers and body. */
  readonly #writeBase: Readonly<Record<string, unknown>>;
  /** The URI of each path written (the signer writes one or two paths). */
  readonly #uris = new Map<string, string>();

  constructor(options: VaultClientOptions) {
    this.#timeoutMs = options.timeoutMs;
    // plain-HTTP Vaults (dev servers, sidecar agents) get kept-alive connections unless the caller brings an agent;
    // over HTTPS the request layer keeps one kept-alive agent per TLS setting (or uses `httpsAgent` when given)
    const plain = options.endpoint.startsWith('http://') && options.requestOptions?.httpAgent === undefined;
    this.#agent = plain ? new Agent({ keepAlive: true }) : undefined;
    this.#requestOptions = { ...(this.#agent ? { httpAgent: this.#agent } : {}), ...options.requestOptions };
    this.#vault = nodeVault({
      apiVersion: 'v1',
      // node-vault's own request layer (axios) cost as much CPU as the signer's checks: a lean one on node:http
      ...(options.httpLayer === 'node-vault'
        ? {}
        : {
            'request-promise': {
              defaults: (defaults: Parameters<typeof requestLayer.defaults>[0]) => {
                const layer = requestLayer.defaults(defaults);
                this.#layer = layer;
                this.#closeLayer = layer.close;
                return layer;
              },
            },
            tv4: schemaChecker() as never,
          }),
      endpoint: options.endpoint,
      noCustomHTTPVerbs: true,
      mustache: templateEngine(),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      requestOptions: { ...this.#requestOptions, timeout: options.timeoutMs },
    });
    // node-vault falls back to VAULT_TOKEN from the environment; certloop sends only the tokens it manages
    this.#vault.token = '';
    this.#writeBase = { ...this.#requestOptions, timeout: options.timeoutMs };
  }

  /** Closes idle kept-alive connections. */
  close(): void {
    this.#agent?.destroy();
    this.#closeLayer?.();
  }

  /**
   * A POST of `data` to `path` (the signer's sign and issue calls). On certloop's request layer it goes to the layer
   * directly: the same URI, headers (the given token, node-vault's namespace) and JSON body node-vault's `write`
   * would build, the answer judged as node-vault judges it (200 and 204 succeed; otherwise its status and body make
   * the error). node-vault's own request building cost about a third of a raw request's CPU per call.
   */
  write(path: string, data: Record<string, unknown>, options: CallOptions = {}): Promise<VaultAnswer> {
    const layer = this.#layer;
    if (layer === undefined) {
      return this.#run(path, 'call', options, (requestOptions) => this.#vault.write(path, data, requestOptions));
    }
    return this.#post(layer, path, data, options);
  }

  read(path: string, options: CallOptions = {}): Promise<VaultAnswer> {
    return this.#run(path, 'call', options, (requestOptions) => this.#vault.read(path, requestOptions));
  }

  /** A LIST (sent as `GET ?list=1`). */
  list(path: string, options: CallOptions = {}): Promise<VaultAnswer> {
    return this.#run(path, 'call', options, (requestOptions) => this.#vault.list(path, requestOptions));
  }

  delete(path: string, options: CallOptions = {}): Promise<VaultAnswer> {
    return this.#run(path, 'call', options, (requestOptions) => this.#vault.delete(path, requestOptions));
  }

  /** AppRole login through node-vault's `approleLogin`, `mount_point` always passed. */
  approleLogin(mount: string, roleId: string, secretId: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#run(`auth/${mount}/login`, 'login', { signal }, (requestOptions) =>
      this.#vault.approleLogin({ mount_point: mount, role_id: roleId, secret_id: secretId, requestOptions }),
    );
  }

  /** Kubernetes login through node-vault's `kubernetesLogin`, `mount_point` always passed. */
  kubernetesLogin(mount: string, role: string, jwt: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#run(`auth/${mount}/login`, 'login', { signal }, (requestOptions) =>
      this.#vault.kubernetesLogin({ mount_point: mount, role, jwt, requestOptions }),
    );
  }

  tokenLookupSelf(token: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#run('auth/token/lookup-self', 'login', { token, signal }, (requestOptions) =>
      this.#vault.tokenLookupSelf({ requestOptions }),
    );
  }

  tokenRenewSelf(token: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#run('auth/token/renew-self', 'call', { token, signal }, (requestOptions) =>
      this.#vault.tokenRenewSelf({ requestOptions }),
    );
  }

  async #post(
    layer: (options: RequestLayerOptions) => Promise<RequestLayerAnswer>,
    path: string,
    data: Record<string, unknown>,
    { signal, token }: CallOptions,
  ): Promise<VaultAnswer> {
    throwIfAborted(signal);
    // read from node-vault's client: its endpoint, API version, path prefix and namespace (config or VAULT_* env)
    const vault = this.#vault as nodeVault.client & { readonly pathPrefix?: string; readonly namespace?: string };
    const headers: Record<string, string> = token ? { 'X-Vault-Token': token } : {};
    if (typeof vault.namespace === 'string' && vault.namespace.length) headers['X-Vault-Namespace'] = vault.namespace;
    let uri = this.#uris.get(path);
    if (uri === undefined) {
      uri = `${vault.endpoint}/${vault.apiVersion}${vault.pathPrefix ?? ''}/${path}`.replace(/&#x2F;/g, '/');
      if (this.#uris.size >= 64) this.#uris.clear();
      this.#uris.set(path, uri);
    }
    let answer: RequestLayerAnswer;
    try {
      // the layer destroys the request on abort
      answer = await layer({
        ...this.#writeBase,
        method: 'POST',
        uri,
        headers,
        json: data,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      throw vaultError(err, path, 'call');
    }
    if (signal?.aborted) throw abortError(signal);
    if (answer.statusCode !== 200 && answer.statusCode !== 204) throw vaultError({ response: answer }, path, 'call');
    // 204 has no body: an empty answer
    return (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as VaultAnswer;
  }

  async #run(
    path: string,
    kind: VaultCallKind,
    options: CallOptions,
    call: (requestOptions: Record<string, unknown>) => Promise<unknown>,
  ): Promise<VaultAnswer> {
    const { signal, token } = options;
    throwIfAborted(signal);
    const requestOptions = {
      ...this.#requestOptions,
      timeout: this.#timeoutMs,
      headers: token ? { 'X-Vault-Token': token } : {},
      // the request layer destroys the request on abort (the wait below is also raced against it)
      ...(signal ? { signal } : {}),
    };
    this.#vault.token = '';
    const pending = call(requestOptions).finally(() => {
      // logins make node-vault remember the new token; it must never be sent implicitly
      this.#vault.token = '';
    });
    try {
      const answer = signal ? await raceAbort(pending, signal) : await pending;
      return (answer ?? {}) as VaultAnswer;
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      throw vaultError(err, path, kind);
    }
  }
}

function raceAbort<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
