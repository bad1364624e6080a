/**
 * `@certloop/k8s-store` KubernetesSecretStore: certloop's `SecretStore` and `Watcher` on the Secrets of one
 * namespace.
 *
 * - `put` with `expectedVersion` is a PUT carrying that resourceVersion (409 is `CERTLOOP_CONFLICT`); with `null`
 *   it is a POST (409 AlreadyExists is a conflict); without, a PUT that falls back to a POST when missing. A
 *   conflict after a retry (the first answer lost after the server applied it) is checked against the write's own
 *   `certloop.io/write-id`: when the stored Secret carries it, the put succeeded and says so.
 *   certloop writes `kubernetes.io/tls`, but an existing `Opaque` Secret keeps its type (Gloo's relay Secrets are
 *   created Opaque by `kubectl create secret generic`).
 * - Every failure is a typed error (see `errors.ts`); transient ones are retried with backoff, bounded, honouring
 *   `signal`. A write is one API call, so nothing is ever half-written.
 * - `watch(name)` shares one list-watch of the namespace (an informer: reflector plus cache) among every watch of
 *   this store: 10,000 watched Secrets are one connection.
 */
import type {
  Clock,
  DeleteOptions,
  ListOptions,
  PutOptions,
  Secret,
  SecretInput,
  SecretStore,
  StoreCallOptions,
  WatchEvent,
  Watcher,
  WatchOptions,
} from '@certloop/core';
import {
  assertSecretInput,
  assertSecretName,
  CertloopError,
  isCertloopError,
  isCertManagerSecret,
  systemClock,
  throwIfAborted,
} from '@certloop/core/base';
import { SecretCache } from './cache.js';
import type { KubeOperation } from './errors.js';
import { KubeClient } from './kube-client.js';
import type { KubeConfigLike } from './kubeconfig.js';
import type { ReflectorTimings } from './reflector.js';
import { type RetryOptions, withRetry } from './retry.js';
import {
  fromKubeSecret,
  type KubeList,
  type KubeSecret,
  newWriteId,
  OPAQUE_SECRET_TYPE,
  TLS_SECRET_TYPE,
  toKubeSecret,
  WRITE_ID_ANNOTATION,
} from './secret-mapping.js';
import { labelSelectorText } from './selector.js';

export interface KubernetesSecretStoreOptions {
  /** Where the API is and who we are (`loadKubeConfig()`, a client-node `KubeConfig`, or an emulator's `kubeConfig`). */
  readonly kubeConfig: KubeConfigLike;
  /** The namespace of every Secret of this store, e.g. `gloo-mesh`. */
  readonly namespace: string;
  /** Watch only Secrets with these labels (the informer's label selector); default all of the namespace. */
  readonly watchLabelSelector?: Readonly<Record<string, string>>;
  /**
   * Let this store write and delete cert-manager Secrets (`cert-manager.io/*` annotations) too. Default false:
   * they are bring-your-own, and a `put` or `delete` over one (or a `put` carrying such annotations) throws
   * `CERTLOOP_READ_ONLY`. For tools that play cert-manager's part, and tests.
   */
  readonly writeBringYourOwn?: boolean;
  /** Retry of transient failures (default 5 attempts, 200 ms doubling to 5 s, jittered). */
  readonly retry?: RetryOptions;
  /** Reflector timings (watch timeout range, silence bound, resync, backoff). */
  readonly watch?: ReflectorTimings;
  /** Per-request timeout (default 30 s). */
  readonly requestTimeoutMs?: number;
  readonly clock?: Clock;
}

const SECRET_NAME_RULE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class KubernetesSecretStore implements SecretStore, Watcher {
  readonly namespace: string;
  readonly #client: KubeClient;
  readonly #retry: RetryOptions;
  readonly #cache: SecretCache;
  readonly #writeBringYourOwn: boolean;
  /** The version of each name this store last read or wrote, and whether cert-manager owns it (bounded). */
  readonly #seen = new Map<string, { readonly version: string; readonly certManager: boolean }>();
  #closed = false;

  constructor(options: KubernetesSecretStoreOptions) {
    if (
      typeof options?.namespace !== 'string' ||
      !SECRET_NAME_RULE.test(options.namespace) ||
      options.namespace.length > 63
    ) {
      throw new CertloopError(
        'CERTLOOP_INVALID_CONFIG',
        'namespace must be a DNS label (lower-case alphanumerics and -)',
        {
          details: { namespace: options?.namespace },
        },
      );
    }
    if (
      typeof options.kubeConfig?.getCurrentCluster !== 'function' ||
      typeof options.kubeConfig.applyToHTTPSOptions !== 'function'
    ) {
      throw new CertloopError(
        'CERTLOOP_INVALID_CONFIG',
        'kubeConfig must be what loadKubeConfig() returns or a client-node KubeConfig',
      );
    }
    const pageSize = options.watch?.listPageSize;
    if (pageSize !== undefined && !(Number.isSafeInteger(pageSize) && pageSize >= 1)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'watch.listPageSize must be a whole number of at least 1', {
        details: { listPageSize: pageSize },
      });
    }
    this.namespace = options.namespace;
    this.#client = new KubeClient(options.kubeConfig, { requestTimeoutMs: options.requestTimeoutMs });
    this.#retry = { clock: options.clock ?? systemClock, ...options.retry };
    this.#writeBringYourOwn = options.writeBringYourOwn ?? false;
    this.#cache = new SecretCache({
      client: this.#client,
      namespace: this.namespace,
      labelSelector: options.watchLabelSelector,
      timings: options.watch,
      clock: options.clock ?? systemClock,
    });
  }

  #path(name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  #op(verb: string, name?: string): KubeOperation {
    return { verb, resource: 'secrets', namespace: this.namespace, ...(name !== undefined && { name }) };
  }

  async get(name: string, options: StoreCallOptions = {}): Promise<Secret | undefined> {
    assertSecretName(name);
    throwIfAborted(options.signal);
    const body = await this.#readRaw(name, options.signal);
    if (!body) {
      this.#seen.delete(name);
      return undefined;
    }
    return this.#remember(fromKubeSecret(body));
  }

  async list(options: ListOptions = {}): Promise<Secret[]> {
    throwIfAborted(options.signal);
    const selector = labelSelectorText(options.labelSelector);
    const { body } = await withRetry(
      () =>
        this.#client.request<KubeList<KubeSecret>>({
          method: 'GET',
          path: this.#path(),
          query: { labelSelector: selector },
          signal: options.signal,
          op: this.#op('list'),
        }),
      { ...this.#retry, signal: options.signal },
    );
    return body.items
      .map((item) => this.#remember(fromKubeSecret(item)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async put(name: string, input: SecretInput, options: PutOptions = {}): Promise<Secret> {
    assertSecretName(name);
    const normalized = assertSecretInput(input);
    throwIfAborted(options.signal);
    const write = {
      type: normalized.type,
      data: normalized.data,
      labels: normalized.labels,
      annotations: normalized.annotations,
    };
    const expected = options.expectedVersion;
    const signal = options.signal;
    // one write-id for every request of this put, so that a retry whose first answer was lost can know its own
    const writeId = newWriteId();
    const attempt: WriteAttempt = { ambiguous: false };
    if (!this.#writeBringYourOwn && isCertManagerSecret({ annotations: write.annotations })) {
      throw readOnly(name, 'certloop does not write cert-manager annotations');
    }
    await this.#guard(name, expected, signal);
    const create = () =>
      this.#call<KubeSecret>(
        'POST',
        'create',
        undefined,
        toKubeSecret({ name, namespace: this.namespace, input: write, writeId }),
        signal,
        attempt,
      );
    const replace = (resourceVersion: string | undefined, type: string) =>
      this.#call<KubeSecret>(
        'PUT',
        'update',
        name,
        toKubeSecret({ name, namespace: this.namespace, input: { ...write, type }, resourceVersion, writeId }),
        signal,
        attempt,
      );
    // An existing Opaque Secret keeps its type: try as asked, and on a type-immutable refusal re-send as Opaque.
    const replaceKeepingOpaque = async (resourceVersion: string | undefined) => {
      try {
        return await replace(resourceVersion, write.type);
      } catch (err) {
        if (write.type !== TLS_SECRET_TYPE || !isTypeChange(err)) throw err;
        return replace(resourceVersion, OPAQUE_SECRET_TYPE);
      }
    };
    let stored: KubeSecret;
    try {
      if (expected === null) {
        stored = await create();
      } else if (typeof expected === 'string') {
        try {
          stored = await replaceKeepingOpaque(expected);
        } catch (err) {
          if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) throw conflict(name, 'the secret does not exist', err);
          throw err;
        }
      } else {
        stored = await this.#upsert(replaceKeepingOpaque, create);
      }
    } catch (err) {
      // A conflict after a retry may be this very put: its first request applied, the answer lost, and the retry
      // refused (409 Conflict: the resourceVersion moved on; AlreadyExists: the create happened). The stored
      // Secret carrying this put's write-id says so: then the write succeeded.
      if (!attempt.ambiguous || !isCertloopError(err, 'CERTLOOP_CONFLICT')) throw err;
      const current = await this.#readRaw(name, signal);
      if (current?.metadata.annotations?.[WRITE_ID_ANNOTATION] !== writeId) throw err;
      stored = current;
    }
    return this.#remember(fromKubeSecret(stored));
  }

  /** The Secret as stored (write-id included), or undefined when missing. */
  async #readRaw(name: string, signal: AbortSignal | undefined): Promise<KubeSecret | undefined> {
    try {
      const { body } = await withRetry(
        () =>
          this.#client.request<KubeSecret>({
            method: 'GET',
            path: this.#path(name),
            signal,
            op: this.#op('get', name),
          }),
        { ...this.#retry, signal },
      );
      return body;
    } catch (err) {
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  #remember(secret: Secret): Secret {
    this.#seen.delete(secret.name);
    this.#seen.set(secret.name, { version: secret.version, certManager: isCertManagerSecret(secret) });
    if (this.#seen.size > 16_384) this.#seen.delete(this.#seen.keys().next().value as string);
    return secret;
  }

  /**
   * Refuses (`CERTLOOP_READ_ONLY`) to write over a cert-manager Secret. Knows the current owner from this store's
   * last read of that version, or its informer's cache, or else one GET.
   */
  async #guard(name: string, expected: string | null | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (this.#writeBringYourOwn || expected === null) return;
    const seen = this.#seen.get(name);
    const cached = this.#cache.peek(name);
    let certManager: boolean;
    if (expected !== undefined && seen?.version === expected) certManager = seen.certManager;
    else if (cached && (expected === undefined || cached.secret?.version === expected)) {
      certManager = cached.secret !== undefined && isCertManagerSecret(cached.secret);
    } else {
      const current = await this.get(name, { signal });
      certManager = current !== undefined && isCertManagerSecret(current);
    }
    if (certManager) throw readOnly(name, 'it is a cert-manager Secret (bring-your-own)');
  }

  /** An unconditional write: replace, or create when missing; a create that races another create replaces. */
  async #upsert(
    replace: (rv: undefined) => Promise<KubeSecret>,
    create: () => Promise<KubeSecret>,
  ): Promise<KubeSecret> {
    for (let round = 0; ; round++) {
      try {
        return await replace(undefined);
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_NOT_FOUND') || round >= 3) throw err;
      }
      try {
        return await create();
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || round >= 3) throw err;
      }
    }
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<boolean> {
    assertSecretName(name);
    throwIfAborted(options.signal);
    await this.#guard(name, options.expectedVersion, options.signal);
    const body =
      options.expectedVersion === undefined
        ? undefined
        : { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: options.expectedVersion } };
    const attempt: WriteAttempt = { ambiguous: false };
    try {
      await this.#call('DELETE', 'delete', name, body, options.signal, attempt);
      return true;
    } catch (err) {
      // missing after a retried DELETE whose answer was lost: most likely this very delete applied
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) return attempt.ambiguous;
      throw err;
    }
  }

  #call<T>(
    method: 'POST' | 'PUT' | 'DELETE',
    verb: string,
    name: string | undefined,
    body: unknown,
    signal?: AbortSignal,
    attempt?: WriteAttempt,
  ) {
    return withRetry(
      async () =>
        (
          await this.#client.request<T>({
            method,
            path: this.#path(method === 'POST' ? undefined : name),
            body,
            signal,
            op: this.#op(verb, name ?? (body as KubeSecret | undefined)?.metadata?.name),
          })
        ).body,
      {
        ...this.#retry,
        signal,
        onRetry: () => {
          // the failed request may have been applied before its answer was lost
          if (attempt) attempt.ambiguous = true;
        },
      },
    );
  }

  watch(name: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    assertSecretName(name);
    return this.#cache.subscribe(name, options.signal, this.#closed);
  }

  /** Ends every watch and the shared list-watch, and frees connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#cache.close();
    this.#client.close();
  }

  /** @internal the shared informer (tests and benchmarks read its counters). */
  get informer(): SecretCache {
    return this.#cache;
  }
}

/** Whether a request of one write was retried after a failure, so may have been applied without our knowing. */
interface WriteAttempt {
  ambiguous: boolean;
}

function isTypeChange(err: unknown): boolean {
  if (!isCertloopError(err, 'CERTLOOP_K8S_INVALID')) return false;
  const causes = (err.details?.causes ?? []) as Array<{ field?: string }>;
  return causes.some((c) => c.field === 'type');
}

function readOnly(name: string, why: string): CertloopError {
  return new CertloopError('CERTLOOP_READ_ONLY', `secret "${name}" is not written by certloop: ${why}`, {
    details: { name },
  });
}

function conflict(name: string, why: string, cause: unknown): CertloopError {
  return new CertloopError('CERTLOOP_CONFLICT', `secret "${name}": ${why}`, { cause, details: { name } });
}
