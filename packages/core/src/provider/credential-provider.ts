/**
 * `@certloop/core` CredentialProvider: holds the current TLS material of one secret and hands it to TLS servers
 * and clients, swapping only to material that validates.
 *
 * Fed by a {@link Watcher} (or by {@link CredentialProvider.offer}), it validates every new state (key matches the
 * certificate, chain reaches the trust bundle, inside validity) and swaps atomically; a bad update is reported as a
 * `rejected` event and the last good material keeps serving. Bound servers get `setSecureContext` on every swap, so
 * established connections continue and new handshakes use the new certificate.
 */
import type { SecureContext, SecureContextOptions, Server as TlsServer } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { type Clock, systemClock, type TimerHandle } from '../clock/clock.js';
import { abortError, CertloopError, isCertloopError } from '../errors.js';
import { Emitter } from '../lib/emitter.js';
import type { Secret } from '../secret/types.js';
import type { Watcher } from '../watch/types.js';
import { type TlsMaterial, validateTlsSecret } from './material.js';

export type ProviderEvent =
  | { readonly type: 'updated'; readonly material: TlsMaterial; readonly previous: TlsMaterial | undefined }
  | { readonly type: 'rejected'; readonly name: string; readonly version: string; readonly error: CertloopError }
  | { readonly type: 'deleted'; readonly name: string }
  | { readonly type: 'expired'; readonly material: TlsMaterial }
  | { readonly type: 'watch-error'; readonly error: CertloopError };

export interface CredentialProviderOptions {
  /** The secret holding `tls.crt`, `tls.key` and (optionally) `ca.crt`. */
  readonly name: string;
  /** Source of the secret's states; without it, feed the provider with `offer`. */
  readonly watcher?: Watcher;
  /** Extended key usage the certificate must allow: `serverAuth` for servers, `clientAuth` for clients. */
  readonly usage?: 'serverAuth' | 'clientAuth';
  /** Roots to validate the chain against (and to verify peers with) instead of the secret's `ca.crt`. */
  readonly trustBundlePem?: string;
  /** Refuse material that has no trust bundle to validate against (default false). */
  readonly requireTrustBundle?: boolean;
  /** Lowest TLS version offered (default TLS 1.3; 1.2 is the lowest allowed). */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly clock?: Clock;
}

export class CredentialProvider {
  readonly name: string;
  readonly #options: CredentialProviderOptions;
  readonly #clock: Clock;
  readonly #events = new Emitter<ProviderEvent>();
  readonly #servers = new Set<TlsServer>();
  readonly #abort = new AbortController();
  #material: TlsMaterial | undefined;
  #context: SecureContext | undefined;
  #expiryTimer: TimerHandle | undefined;
  #queue: Promise<void> = Promise.resolve();
  #started = false;
  #waiters: Array<() => void> = [];

  constructor(options: CredentialProviderOptions) {
    if (options.minVersion && options.minVersion !== 'TLSv1.2' && options.minVersion !== 'TLSv1.3') {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'minVersion must be TLSv1.2 or TLSv1.3');
    }
    this.name = options.name;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Starts consuming the watcher (idempotent). Resolves once the initial state has been processed. */
  async start(): Promise<void> {
    const watcher = this.#options.watcher;
    if (this.#started || !watcher) return;
    this.#started = true;
    const iterator = watcher.watch(this.name, { signal: this.#abort.signal });
    let first = true;
    const initial = new Promise<void>((resolve) => {
      const loop = async () => {
        try {
          for await (const event of iterator) {
            if (event.type === 'initial' || event.type === 'updated') {
              if (event.secret) await this.offer(event.secret);
            } else if (event.type === 'deleted') {
              this.#events.emit({ type: 'deleted', name: this.name });
            } else if (event.type === 'error') {
              this.#events.emit({ type: 'watch-error', error: event.error });
            }
            if (first) {
              first = false;
              resolve();
            }
          }
        } catch (err) {
          if (!this.#abort.signal.aborted) {
            const error = isCertloopError(err)
              ? err
              : new CertloopError('CERTLOOP_WATCH_FAILED', 'watch ended with an error', { cause: err });
            this.#events.emit({ type: 'watch-error', error });
          }
        } finally {
          resolve();
        }
      };
      void loop();
    });
    await initial;
  }

  /**
   * Validates a state of the secret and swaps to it when it is good; otherwise emits `rejected` and keeps the
   * current material. Offers are processed one at a time, in order. Resolves whether or not it swapped.
   */
  offer(secret: Secret): Promise<boolean> {
    const run = this.#queue.then(() => this.#apply(secret));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #apply(secret: Secret): Promise<boolean> {
    if (this.#material && this.#material.version === secret.version) return false;
    try {
      const material = await validateTlsSecret(secret, {
        at: this.#clock.now(),
        usage: this.#options.usage,
        trustBundlePem: this.#options.trustBundlePem,
        requireTrustBundle: this.#options.requireTrustBundle,
      });
      const context = createSecureContext(this.#contextOptions(material));
      const previous = this.#material;
      this.#material = material;
      this.#context = context;
      this.#armExpiry(material);
      for (const server of this.#servers) server.setSecureContext(this.#contextOptions(material));
      this.#events.emit({ type: 'updated', material, previous });
      for (const wake of this.#waiters.splice(0)) wake();
      return true;
    } catch (err) {
      const error = isCertloopError(err)
        ? err
        : new CertloopError('CERTLOOP_CREDENTIAL_INVALID', 'TLS material was refused by Node', { cause: err });
      this.#events.emit({ type: 'rejected', name: secret.name, version: secret.version, error });
      return false;
    }
  }

  #armExpiry(material: TlsMaterial): void {
    if (this.#expiryTimer) this.#clock.clearTimeout(this.#expiryTimer);
    const delay = material.leaf.notAfter.getTime() - this.#clock.now().getTime();
    this.#expiryTimer = this.#clock.setTimeout(() => {
      if (this.#material === material) this.#events.emit({ type: 'expired', material });
    }, delay);
  }

  #contextOptions(material: TlsMaterial): SecureContextOptions {
    return {
      key: material.privateKeyPem,
      cert: material.certificatePem,
      ...(material.trustBundlePem ? { ca: material.trustBundlePem } : {}),
      minVersion: this.#options.minVersion ?? 'TLSv1.3',
    };
  }

  /** The current validated material, or undefined before the first good state. */
  current(): TlsMaterial | undefined {
    return this.#material;
  }

  /** Waits until good material is available. */
  async ready(options: { signal?: AbortSignal } = {}): Promise<TlsMaterial> {
    const { signal } = options;
    while (!this.#material) {
      if (signal?.aborted) throw abortError(signal);
      if (this.#abort.signal.aborted) throw new CertloopError('CERTLOOP_CLOSED', `provider ${this.name} was closed`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
    return this.#material;
  }

  #require(): TlsMaterial {
    if (!this.#material) {
      throw new CertloopError('CERTLOOP_NOT_FOUND', `no valid TLS material for ${this.name} yet`);
    }
    return this.#material;
  }

  /** The `tls.SecureContext` of the current material (built once per swap). */
  secureContext(): SecureContext {
    this.#require();
    return this.#context!;
  }

  /** Options for `tls.createSecureContext`, `tls.connect` or `https.Agent`: key, cert, ca, minVersion. */
  secureContextOptions(): SecureContextOptions {
    return this.#contextOptions(this.#require());
  }

  /** Keeps a running `tls.Server` / `https.Server` on the current material; returns the unbind function. */
  bindServer(server: TlsServer): () => void {
    this.#servers.add(server);
    if (this.#material) server.setSecureContext(this.#contextOptions(this.#material));
    return () => this.#servers.delete(server);
  }

  subscribe(listener: (event: ProviderEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Stops watching and unbinds servers. The last material stays readable. */
  close(): void {
    this.#abort.abort();
    if (this.#expiryTimer) this.#clock.clearTimeout(this.#expiryTimer);
    this.#servers.clear();
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
