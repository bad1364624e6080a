/**
 * `@certloop/core` CredentialProvider: holds the current TLS material of one secret and hands it to TLS servers
 * and clients, swapping only to material that validates.
 *
 * Fed by a {@link Watcher} (or by {@link CredentialProvider.offer}), it validates every new state (key matches the
 * certificate, chain reaches the trust bundle, inside validity) and swaps atomically; a bad update is reported as a
 * `rejected` event and the last good material keeps serving. Bound servers get `setSecureContext` on every swap, so
 * established connections continue and new handshakes use the new certificate.
 *
 * Time: validity is judged on the clock's wall time; the checks for `expiring` and `expired` run on timers (durations)
 * no longer than `recheckIntervalMs`, so a step of the wall clock is noticed within that interval. When it has
 * nothing usable it says why: `ready()` settles per `readyPolicy` and `secureContext()` throws a typed error.
 *
 * Given CRLs (`crls`, `setCrls`), every context it builds makes OpenSSL refuse revoked peers from the next
 * handshake on.
 */
import type { SecureContext, SecureContextOptions, Server as TlsServer } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { type Clock, systemClock, type TimerHandle } from '../clock/clock.js';
import { abortError, CertloopError, isCertloopError } from '../errors.js';
import { Emitter } from '../lib/emitter.js';
import type { Secret } from '../secret/types.js';
import { type CrlInput, readCrls } from '../x509/crl.js';
import { pemEncode } from '../x509/pem.js';
import { type TlsMaterial, validateTlsSecret } from './material.js';
import {
  type CredentialProviderOptions,
  PROVIDER_DEFAULTS,
  type ProviderEvent,
  validateProviderOptions,
} from './provider-options.js';

export type { CredentialProviderOptions, ProviderEvent, ReadyPolicy } from './provider-options.js';

/** Per-material progress of the time checks, so each event fires once per material. */
interface Served {
  readonly material: TlsMaterial;
  expiringReported: boolean;
  expiredReported: boolean;
  /** Past notAfter at the last check (on the wall clock; may clear again if the clock steps back). */
  expired: boolean;
}

export class CredentialProvider {
  readonly name: string;
  readonly #options: CredentialProviderOptions;
  readonly #clock: Clock;
  readonly #events = new Emitter<ProviderEvent>();
  readonly #servers = new Set<TlsServer>();
  readonly #abort = new AbortController();
  #served: Served | undefined;
  #crls: string[] = [];
  #context: SecureContext | undefined;
  /** Why nothing is usable, from the last refused offer while nothing valid was held. */
  #refusal: CertloopError | undefined;
  #timer: TimerHandle | undefined;
  #queue: Promise<void> = Promise.resolve();
  #started = false;
  #waiters: Array<() => void> = [];

  constructor(options: CredentialProviderOptions) {
    validateProviderOptions(options);
    this.name = options.name;
    if (options.crls !== undefined) this.#crls = crlPems(options.crls);
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
    const current = this.#served;
    if (current && current.material.version === secret.version) return false;
    try {
      const now = this.#clock.now();
      const material = await validateTlsSecret(secret, {
        at: now,
        usage: this.#options.usage,
        trustBundlePem: this.#options.trustBundlePem,
        requireTrustBundle: this.#options.requireTrustBundle,
      });
      this.#checkRemainingLifetime(material, now);
      const context = createSecureContext(this.#contextOptions(material));
      const previous = current?.material;
      this.#served = { material, expiringReported: false, expiredReported: false, expired: false };
      this.#context = context;
      this.#refusal = undefined;
      for (const server of this.#servers) server.setSecureContext(this.#contextOptions(material));
      this.#events.emit({ type: 'updated', material, previous });
      this.#checkTime();
      this.#wakeWaiters();
      return true;
    } catch (err) {
      const error = isCertloopError(err)
        ? err
        : new CertloopError('CERTLOOP_CREDENTIAL_INVALID', 'TLS material was refused by Node', { cause: err });
      if (!this.#served) {
        this.#refusal = error;
        this.#wakeWaiters();
      }
      this.#events.emit({ type: 'rejected', name: secret.name, version: secret.version, error });
      return false;
    }
  }

  /** A swap must not shorten a valid credential below `minRemainingLifetimeMs`. */
  #checkRemainingLifetime(material: TlsMaterial, now: Date): void {
    const least = this.#options.minRemainingLifetimeMs ?? 0;
    const current = this.#served;
    if (least <= 0 || !current) return;
    const remaining = material.leaf.notAfter.getTime() - now.getTime();
    const currentRemaining = current.material.leaf.notAfter.getTime() - now.getTime();
    // nothing valid to lose (the current one expired), or no shorter than what serves now: take it
    if (currentRemaining <= 0 || remaining >= least || remaining >= currentRemaining) return;
    const tooSoon = new CertloopError(
      'CERTLOOP_CREDENTIAL_EXPIRES_TOO_SOON',
      `the update of ${this.name} expires sooner than minRemainingLifetimeMs and than the current certificate`,
      {
        details: {
          notAfter: material.leaf.notAfter.toISOString(),
          remainingMs: remaining,
          minRemainingLifetimeMs: least,
        },
      },
    );
    throw new CertloopError('CERTLOOP_CREDENTIAL_INVALID', `secret ${this.name} failed validation (${tooSoon.code})`, {
      cause: tooSoon,
    });
  }

  /** Compares the current material with the wall clock, reports what changed and arms the next check. */
  #checkTime(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const served = this.#served;
    if (!served || this.#abort.signal.aborted) return;
    const now = this.#clock.now().getTime();
    const { notBefore, notAfter } = served.material.leaf;
    const warnAt = notAfter.getTime() - this.#expiringBeforeMs(notBefore, notAfter);
    const wasExpired = served.expired;
    served.expired = now >= notAfter.getTime();
    if (served.expired !== wasExpired) this.#policyChanged(served);
    if (!served.expired && now >= warnAt && warnAt < notAfter.getTime() && !served.expiringReported) {
      served.expiringReported = true;
      this.#events.emit({ type: 'expiring', material: served.material, remainingMs: notAfter.getTime() - now });
    }
    if (served.expired && !served.expiredReported) {
      served.expiredReported = true;
      const serving = !this.#options.refuseExpired;
      this.#events.emit({ type: 'expired', material: served.material, serving });
    }
    const boundaries = [warnAt, notAfter.getTime()].filter((t) => t > now);
    const next = boundaries.length ? Math.min(...boundaries) - now : Number.POSITIVE_INFINITY;
    const recheck = this.#options.recheckIntervalMs ?? PROVIDER_DEFAULTS.recheckIntervalMs;
    this.#timer = this.#clock.setTimeout(() => this.#checkTime(), Math.min(next, recheck));
  }

  #expiringBeforeMs(notBefore: Date, notAfter: Date): number {
    const configured = this.#options.expiringBeforeMs;
    if (configured !== undefined) return configured;
    const lifetime = notAfter.getTime() - notBefore.getTime();
    return Math.min(PROVIDER_DEFAULTS.expiringAtMostMs, Math.floor(lifetime * PROVIDER_DEFAULTS.expiringShare));
  }

  /** Under `refuseExpired`, bound servers stop (or resume) handshakes when the material expires (or is valid again). */
  #policyChanged(served: Served): void {
    if (this.#options.refuseExpired) {
      const options = served.expired ? this.#refusingContextOptions() : this.#contextOptions(served.material);
      for (const server of this.#servers) server.setSecureContext(options);
    }
    this.#wakeWaiters();
  }

  #contextOptions(material: TlsMaterial): SecureContextOptions {
    return {
      key: material.privateKeyPem,
      cert: material.certificatePem,
      ...(material.trustBundlePem ? { ca: material.trustBundlePem } : {}),
      ...(this.#crls.length ? { crl: this.#crls } : {}),
      minVersion: this.#options.minVersion ?? 'TLSv1.3',
    };
  }

  /** No certificate at all: every new handshake ends in a `handshake_failure` alert. */
  #refusingContextOptions(): SecureContextOptions {
    return { minVersion: this.#options.minVersion ?? 'TLSv1.3' };
  }

  /**
   * Replaces the CRLs peers are checked against (undefined or empty: none) and rebuilds the secure context, so
   * the next handshake of every bound server uses them. Throws `CERTLOOP_CRL_INVALID` for a malformed CRL and keeps
   * the previous ones. CRL signatures and nextUpdate are checked by OpenSSL at handshake time; Node sets
   * CRL_CHECK_ALL, so a peer chain with intermediates needs a CRL from each of its CAs.
   */
  setCrls(crls: CrlInput | undefined): void {
    this.#crls = crls === undefined ? [] : crlPems(crls);
    const served = this.#served;
    if (!served) return;
    this.#context = createSecureContext(this.#contextOptions(served.material));
    const refusing = served.expired && this.#options.refuseExpired;
    const options = refusing ? this.#refusingContextOptions() : this.#contextOptions(served.material);
    for (const server of this.#servers) server.setSecureContext(options);
  }

  /** Usable material now, or why there is none (undefined: nothing seen yet, keep waiting). */
  #state(): { material: TlsMaterial } | { error: CertloopError | undefined } {
    const served = this.#served;
    if (served && !(served.expired && this.#options.refuseExpired)) return { material: served.material };
    if (served) return { error: this.#expiredError(served.material, undefined) };
    const refusal = this.#refusal;
    if (!refusal) return { error: undefined };
    const cause = isCertloopError(refusal.cause) ? refusal.cause : undefined;
    if (cause?.code === 'CERTLOOP_CHAIN_EXPIRED') return { error: this.#expiredError(undefined, refusal) };
    return { error: refusal };
  }

  #expiredError(material: TlsMaterial | undefined, cause: CertloopError | undefined): CertloopError {
    return new CertloopError('CERTLOOP_CREDENTIAL_EXPIRED', `the only TLS material of ${this.name} has expired`, {
      cause,
      details: {
        name: this.name,
        ...(material && { version: material.version, notAfter: material.leaf.notAfter.toISOString() }),
      },
    });
  }

  /**
   * The current validated material, or undefined before the first good state. Under the default policy this may
   * be material past its notAfter (still served); see `refuseExpired`.
   */
  current(): TlsMaterial | undefined {
    return this.#served?.material;
  }

  /**
   * Resolves with usable material. When there is none, per `readyPolicy`: `reject` (default) rejects with why as
   * soon as it is known (`CERTLOOP_CREDENTIAL_EXPIRED`, or `CERTLOOP_CREDENTIAL_INVALID` with the cause); `wait`
   * resolves on the first valid material. A secret not seen yet is waited for. Rejects with `CERTLOOP_CLOSED` on
   * `close()` and `CERTLOOP_ABORTED` when `signal` aborts.
   */
  async ready(options: { signal?: AbortSignal } = {}): Promise<TlsMaterial> {
    const { signal } = options;
    const policy = this.#options.readyPolicy ?? PROVIDER_DEFAULTS.readyPolicy;
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      if (this.#abort.signal.aborted) throw new CertloopError('CERTLOOP_CLOSED', `provider ${this.name} was closed`);
      const state = this.#state();
      if ('material' in state) return state.material;
      if (state.error && policy === 'reject') throw state.error;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  #require(): TlsMaterial {
    const state = this.#state();
    if ('material' in state) return state.material;
    throw state.error ?? new CertloopError('CERTLOOP_NOT_FOUND', `no TLS material for ${this.name} yet`);
  }

  /**
   * The `tls.SecureContext` of the current material (built once per swap). Throws why there is none:
   * `CERTLOOP_NOT_FOUND` (nothing seen yet), `CERTLOOP_CREDENTIAL_EXPIRED` (the only material expired: found so, or
   * expired under `refuseExpired`), `CERTLOOP_CREDENTIAL_INVALID` (the material found was refused; see its cause).
   */
  secureContext(): SecureContext {
    this.#require();
    return this.#context!;
  }

  /** Options for `tls.createSecureContext`, `tls.connect` or `https.Agent`: key, cert, ca, minVersion. Throws as `secureContext()`. */
  secureContextOptions(): SecureContextOptions {
    return this.#contextOptions(this.#require());
  }

  /** Keeps a running `tls.Server` / `https.Server` on the current material; returns the unbind function. */
  bindServer(server: TlsServer): () => void {
    this.#servers.add(server);
    const served = this.#served;
    if (served) {
      const refusing = served.expired && this.#options.refuseExpired;
      server.setSecureContext(refusing ? this.#refusingContextOptions() : this.#contextOptions(served.material));
    }
    return () => this.#servers.delete(server);
  }

  subscribe(listener: (event: ProviderEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Stops watching and unbinds servers. The last material stays readable. */
  close(): void {
    this.#abort.abort();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#servers.clear();
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** CRLs as PEM blocks, each read (and so checked) once. */
function crlPems(input: CrlInput): string[] {
  if (Array.isArray(input) && input.length === 0) return [];
  return readCrls(input).map((crl) => pemEncode('X509 CRL', crl.der));
}
