/**
 * `@certloop/agent-rotator` server convergence: one server replica's part in a CA rotation, owned by `RelayServer`.
 * It keeps the bundle table fed by the relay's services, reports the replica itself (the roots it checks agents
 * with) and its credential provider (`ca.crt` of the server secret), publishes the table to the store when asked,
 * and passes renewal requests (its own `requestRenewal`, or the store's `relay-renewal-request`) on to its streams.
 */
import { hostname } from 'node:os';
import {
  type BundleObservation,
  type CertloopError,
  type Clock,
  type ConvergenceSource,
  type RenewalRequest,
  type RenewalRequester,
  type SecretStore,
  trustBundleDigest,
  type Watcher,
} from '@certloop/core';
import { FollowedSecret } from '../shared/followed-secret.js';
import { type BundleEntry, BundleTable } from './bundle-table.js';
import { type ConvergenceHooks, convergenceHooks } from './hooks.js';
import { BundleTablePublisher, type BundleTableSnapshot } from './published-table.js';
import { RENEWAL_REQUEST_SECRET, RenewalBroadcast, type RenewNowTarget, renewalRequestOf } from './renewal.js';

export interface ServerConvergenceOptions {
  /** This replica's name in the tables (default `<hostname>-<pid>`). */
  readonly replicaId?: string;
  /**
   * Publish this replica's table to the store (`relay-bundle-observations-<replica>`), so the process that drives
   * a rotation sees the agents of every replica (default false: a single replica, or a rotation in this process).
   */
  readonly publish?: boolean | { readonly debounceMs?: number; readonly refreshMs?: number; readonly prefix?: string };
  /** Follow the store's renewal request (`relay-renewal-request` or this name; false: only `requestRenewal`). */
  readonly renewalRequests?: boolean | string;
  /** How long an offline agent replica is remembered once a newer one of its cluster exists (default one day). */
  readonly forgetAfterMs?: number;
}

export type ConvergenceEvent =
  | { readonly type: 'renew-now'; readonly activeIssuerKeyId: string; readonly notified: number }
  | { readonly type: 'bundle-table-published'; readonly name: string }
  | { readonly type: 'bundle-table-publish-failed'; readonly error: CertloopError };

export class ServerConvergence implements ConvergenceSource, RenewalRequester {
  readonly replicaId: string;
  readonly table: BundleTable;
  readonly hooks: ConvergenceHooks;
  readonly #broadcast: RenewalBroadcast;
  readonly #o: ServerConvergenceOptions;
  readonly #clock: Clock;
  readonly #serverSecret: string;
  readonly #emit: (event: ConvergenceEvent) => void;
  #publisher: BundleTablePublisher | undefined;
  #followed: FollowedSecret | undefined;
  #clientTrustDigest = '';
  #providerDigest = '';
  #trustSince: Date;
  #providerSince: Date;

  constructor(input: {
    readonly options: ServerConvergenceOptions;
    readonly clock: Clock;
    readonly target: RenewNowTarget;
    readonly serverSecret: string;
    readonly emit: (event: ConvergenceEvent) => void;
  }) {
    this.#o = input.options;
    this.#clock = input.clock;
    this.#serverSecret = input.serverSecret;
    this.#emit = input.emit;
    this.replicaId = input.options.replicaId ?? `${hostname()}-${process.pid}`;
    this.table = new BundleTable({ clock: input.clock, forgetAfterMs: input.options.forgetAfterMs });
    this.#broadcast = new RenewalBroadcast(input.target);
    this.hooks = convergenceHooks(this.table, this.#broadcast);
    this.#trustSince = input.clock.now();
    this.#providerSince = this.#trustSince;
    this.table.onChange((change) => {
      if (change === 'digest' || change === 'presence') this.#publisher?.changed();
    });
  }

  /** Starts publishing and following renewal requests, as configured. */
  async start(store: SecretStore, watcher: Watcher): Promise<void> {
    const publish = this.#o.publish;
    if (publish) {
      const p = typeof publish === 'object' ? publish : {};
      this.#publisher = new BundleTablePublisher({
        store,
        replica: this.replicaId,
        snapshot: () => this.snapshot(),
        clock: this.#clock,
        ...p,
        onPublished: () => this.#emit({ type: 'bundle-table-published', name: this.#publisher!.name }),
        onError: (error) => this.#emit({ type: 'bundle-table-publish-failed', error }),
      });
      this.#publisher.start();
    }
    const follow = this.#o.renewalRequests ?? true;
    if (follow !== false) {
      this.#followed = new FollowedSecret({
        watcher,
        name: typeof follow === 'string' ? follow : RENEWAL_REQUEST_SECRET,
        onChange: (secret) => {
          const request = renewalRequestOf(secret);
          if (request) this.#apply(request);
          else this.#broadcast.clear();
        },
      });
      await this.#followed.start();
    }
  }

  /** The roots this replica checks agents with changed. */
  setClientTrust(bundlePem: string): void {
    const digest = safeDigest(bundlePem);
    if (digest === this.#clientTrustDigest) return;
    this.#clientTrustDigest = digest;
    this.#trustSince = this.#clock.now();
    this.#publisher?.changed();
  }

  /** The server credential provider took a secret with this `ca.crt`. */
  setProviderTrust(bundlePem: string | undefined): void {
    const digest = bundlePem ? safeDigest(bundlePem) : '';
    if (digest === this.#providerDigest) return;
    this.#providerDigest = digest;
    this.#providerSince = this.#clock.now();
    this.#publisher?.changed();
  }

  /** This replica and its provider, as consumers. */
  own(): BundleObservation[] {
    const out: BundleObservation[] = [];
    if (this.#clientTrustDigest) {
      out.push({
        consumer: this.replicaId,
        kind: 'replica',
        bundleDigest: this.#clientTrustDigest,
        observedAt: this.#trustSince,
        detail: 'roots the relay server checks agent certificates with',
      });
    }
    if (this.#providerDigest) {
      out.push({
        consumer: `${this.#serverSecret}@${this.replicaId}`,
        kind: 'provider',
        bundleDigest: this.#providerDigest,
        observedAt: this.#providerSince,
        detail: `ca.crt of ${this.#serverSecret} as the server's credential provider holds it`,
      });
    }
    return out;
  }

  snapshot(): BundleTableSnapshot {
    return { replica: this.replicaId, publishedAt: this.#clock.now(), entries: this.table.entries(), own: this.own() };
  }

  entries(): BundleEntry[] {
    return this.table.entries();
  }

  /** This replica's agents (one per cluster), itself and its provider. */
  async observations(): Promise<readonly BundleObservation[]> {
    return [...this.table.observations(), ...this.own()];
  }

  /** Tells this replica's streams; other replicas learn it from the store (see `StoreRenewalRequester`). */
  async requestRenewal(request: RenewalRequest): Promise<{ readonly notified: number }> {
    return { notified: this.#apply(request) };
  }

  #apply(request: RenewalRequest): number {
    const notified = this.#broadcast.apply(request);
    this.#emit({ type: 'renew-now', activeIssuerKeyId: request.activeIssuerKeyId, notified });
    return notified;
  }

  /** Writes the table now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.#publisher?.flush();
  }

  async stop(): Promise<void> {
    await this.#publisher?.stop();
    this.#publisher = undefined;
    await this.#followed?.stop();
    this.#followed = undefined;
  }
}

function safeDigest(bundlePem: string): string {
  try {
    return trustBundleDigest(bundlePem);
  } catch {
    return '';
  }
}
