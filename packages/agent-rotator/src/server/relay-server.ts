/**
 * `@certloop/agent-rotator` RelayServer: the management server's side of the relay over gRPC.
 *
 * - Serves with `relay-server-tls-secret` through a core `CredentialProvider` and grpc-js certificate-provider
 *   credentials: a new server secret is taken by new handshakes without a restart; open streams stay up.
 * - Signs agents' CSRs (Bootstrap with the token, Renew with a valid client certificate) with
 *   `relay-tls-signing-secret` (watched: a replaced intermediate signs from the next CSR on) or an injected
 *   `CertificateAuthority` (e.g. Vault). The identity binding is the server's, whatever the backend allows.
 * - Revocation: it follows `ca.crl` of the signing secret; every call's client certificate is validated with it
 *   and a newly revoked agent's open stream is ended. Holding the signing key (no injected CA), it republishes
 *   that CRL before its nextUpdate.
 * - Stateless: the only write it ever makes is that CRL republication (compare-and-swap on the signing secret,
 *   core's `RevokingAuthority.publishCrl`), so several replicas can serve side by side on the same secrets.
 * - Health and metrics: issued, refused by code, connected agents, and the expiry of its own secrets (core's
 *   `ExpiryMonitor`).
 */

import type { SecureContextOptions } from 'node:tls';
import {
  type BundleObservation,
  type CertificateAuthority,
  type CertificateStatus,
  CertloopError,
  type CertloopErrorCode,
  type Clock,
  CredentialProvider,
  type CryptoEngine,
  DEFAULT_ISSUANCE_POLICY,
  Emitter,
  ExpiryMonitor,
  type ExternalPrivateKey,
  type IssuanceLedger,
  type IssuancePolicyInput,
  isCertloopError,
  isRevokingAuthority,
  joinPemBundle,
  type ParsedCrl,
  type RelaySecretNames,
  type RenewalRequest,
  type Rotator,
  type RotatorEvent,
  type Secret,
  type SecretStore,
  splitPemBundle,
  systemClock,
  type TimerHandle,
  type Watcher,
} from '@certloop/core';
import type { BundleEntry } from '../convergence/bundle-table.js';
import type { BundleTableSnapshot } from '../convergence/published-table.js';
import {
  type ConvergenceEvent,
  ServerConvergence,
  type ServerConvergenceOptions,
} from '../convergence/server-convergence.js';
import { FollowedSecret } from '../shared/followed-secret.js';
import { resolveRelayNames } from '../shared/names.js';
import {
  type AgentMessage,
  type BootstrapRequest,
  type RenewRequest,
  relayMethod,
  type ServerMessage,
  type SignResponse,
} from '../shared/proto.js';
import { BootstrapFailureLimiter } from './bootstrap-limits.js';
import { certificatesService } from './certificates-service.js';
import { ClientCertificateCheck } from './client-check.js';
import type { RelayCounters, ServerContext } from './context.js';
import { protoCodec } from './grpc/proto-codec.js';
import { LeanGrpcServer } from './grpc/server.js';
import { HeartbeatSweep } from './heartbeat-sweep.js';
import { PeerRateLimiter, type RateLimitOptions } from './rate-limit.js';
import { type ConnectedAgent, ConnectionTable, relayService, type StreamHeartbeats } from './relay-service.js';
import { type ServerCertificateRenewalOptions, serverCertificateRotator } from './server-renewal.js';
import {
  crlOfSecret,
  resolveSigningKey,
  type SigningKeyResolver,
  type SigningTrust,
  signingFromSecret,
} from './signing-authority.js';
import { sharedTokenVerifier, type TokenVerifier } from './token.js';

const DAY = 86_400;

export interface RelayServerOptions {
  /** Where the relay's secrets are (memory, file, Kubernetes...). The server only reads it. */
  readonly store: SecretStore;
  /** Source of secret changes (default: the store itself, when it is also a `Watcher`). */
  readonly watcher?: Watcher;
  /** The CA that signs agents' CSRs (default: a local CA from `relay-tls-signing-secret`, rebuilt on change). */
  readonly ca?: CertificateAuthority;
  readonly names?: Partial<RelaySecretNames>;
  /** `host:port` to listen on, e.g. `127.0.0.1:0` (port 0 picks a free one; `start()` tells which). */
  readonly address: string;
  /** Decides bootstrap tokens (default: constant-time compare with `relay-identity-token-secret`). */
  readonly tokenVerifier?: TokenVerifier;
  /** Roots agent certificates chain to, with an injected CA (default: `ca.trustBundle()`). */
  readonly clientTrustBundlePem?: string;
  /** Intermediates between agent certificates and the roots, with an injected CA. */
  readonly clientIntermediatesPem?: string;
  /**
   * Where the local CA built from the signing secret records every leaf it signs (core's `StoreIssuanceLedger`), so a
   * CA rotation's drain counts the agents' certificates still under the old CA. An injected `ca` records on its own.
   */
  readonly ledger?: IssuanceLedger;
  /** Issuance policy of the local CA built from the signing secret. */
  readonly caPolicy?: IssuancePolicyInput;
  /** Lifetime given when the agent asks for none (default 365 days). */
  readonly defaultLifetimeSeconds?: number;
  /** Longest lifetime the server grants, whatever is asked (default 365 days). */
  readonly maxLifetimeSeconds?: number;
  /** Largest CSR accepted, in characters of PEM (default 16 KiB). */
  readonly maxCsrBytes?: number;
  /** Largest gRPC message accepted, refused before it is decoded (default 64 KiB). */
  readonly maxMessageBytes?: number;
  /** Streams open at once on one connection (an agent holds two at most; default 256). */
  readonly maxConcurrentStreams?: number;
  /** Calls per peer address (default burst 200, 100 per second). */
  readonly callRateLimit?: RateLimitOptions;
  /**
   * Failed bootstrap attempts per (peer address, cluster) (default burst 5, one more per 12 s): one client behind a
   * shared address exhausts only its own cluster's budget.
   */
  readonly failedBootstrapRateLimit?: RateLimitOptions;
  /**
   * Failed bootstrap attempts in all, whatever the address or cluster (default burst 100, one more per second): the
   * bound on guessing tokens. Once spent, bootstraps are refused until it refills.
   */
  readonly failedBootstrapBudget?: RateLimitOptions;
  /** How often the server sends a heartbeat on each stream (default 30 s). */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long past its nextUpdate the signing secret's CRL (`ca.crl`) is still accepted (default 300 s); past that,
   * client certificates of that CA are refused with `CERTLOOP_CHAIN_CRL_EXPIRED` until a fresh CRL is published.
   */
  readonly crlGraceSeconds?: number;
  /**
   * With the CA built from the signing secret (no injected `ca`) and a CRL in it: publish a fresh CRL
   * (`publishCrl`) at half of the current one's lifetime, plus up to a tenth of jitter so replicas rarely race
   * (a replica that sees a peer's fresh CRL reschedules). Default true; false leaves republishing to an operator.
   */
  readonly republishCrl?: boolean;
  /** Watch the expiry of the server's own secrets (default true). */
  readonly monitorExpiry?: boolean;
  /**
   * The CA rotation's view of this replica: its name, whether it publishes its bundle table to the store (needed
   * when several replicas serve and the rotation runs elsewhere), whether it follows the store's renewal request.
   */
  readonly convergence?: ServerConvergenceOptions;
  /**
   * Opt-in: renew `relay-server-tls-secret` at a grace ratio with the CA that signs agents (core's `Rotator`, the
   * elected replica only), taken by the hot reload. Default off: the server only reads its secret.
   */
  readonly serverCertificateRenewal?: ServerCertificateRenewalOptions;
  readonly clock?: Clock;
  readonly engine?: CryptoEngine;
  /**
   * The signing CA's key where it is held (a key on a PKCS#11 token, `@certloop/pkcs11`): the local CA built from
   * `relay-tls-signing-secret` signs through it, and that secret holds certificates only. A resolver finds the key
   * for whichever certificate the secret holds (`pkcs11SigningKeys(token)`), so a CA rotated to a new key on the
   * token signs from the next CSR on.
   */
  readonly signingKey?: ExternalPrivateKey | SigningKeyResolver;
}

export type RelayServerEvent =
  | {
      readonly type: 'issued';
      readonly method: string;
      readonly cluster: string;
      readonly peer: string;
      readonly serialNumber: string;
      readonly notAfter: Date;
    }
  | { readonly type: 'refused'; readonly method: string; readonly peer: string; readonly code: CertloopErrorCode }
  | { readonly type: 'server-certificate'; readonly serialNumber: string; readonly previous: string | undefined }
  | { readonly type: 'server-certificate-rejected'; readonly error: CertloopError }
  | { readonly type: 'signing-authority'; readonly serialNumber: string | undefined }
  | { readonly type: 'signing-authority-rejected'; readonly error: CertloopError }
  | { readonly type: 'connections'; readonly count: number }
  /** The roots agents should trust changed and were sent on `streams` open streams (agents adopt it if safe). */
  | { readonly type: 'trust-bundle-sent'; readonly streams: number }
  | {
      /** A new CRL of the signing secret is in force; `disconnected` streams of revoked agents were ended. */
      readonly type: 'crl';
      readonly crlNumber: number | undefined;
      readonly nextUpdate: Date | undefined;
      readonly disconnected: number;
    }
  | { readonly type: 'crl-rejected'; readonly error: CertloopError }
  | { readonly type: 'crl-published'; readonly crlNumber: number; readonly nextUpdate: Date | undefined }
  | { readonly type: 'crl-publish-failed'; readonly error: CertloopError }
  | ConvergenceEvent
  /** The opt-in server certificate renewal (core's rotator events). */
  | { readonly type: 'server-renewal'; readonly event: RotatorEvent };

export interface RelayServerMetrics {
  readonly issued: number;
  readonly bootstraps: number;
  readonly renewals: number;
  readonly refused: Readonly<Partial<Record<CertloopErrorCode, number>>>;
  readonly connectedAgents: number;
  readonly serverSerialNumber: string | undefined;
  /** cRLNumber of the signing CA's CRL in force, when there is one. */
  readonly crlNumber: number | undefined;
  /** Expiry state of the server's own secrets (server, signing, root), from core's monitor. */
  readonly secrets: readonly CertificateStatus[];
  /**
   * Mutual-TLS connections whose client certificate passed (each agent renews and holds its stream over one), and
   * verdicts put in the cache when the server's own CA issued the certificate.
   */
  readonly clientCheck: { readonly connections: number; readonly remembered: number };
}

/** A CRL's cRLNumber as a number (undefined without one, or beyond the safe integers). */
function crlNumberOf(crl: ParsedCrl | undefined): number | undefined {
  if (crl?.crlNumber === undefined) return undefined;
  const n = Number.parseInt(crl.crlNumber, 16);
  return Number.isSafeInteger(n) ? n : undefined;
}

function isWatcher(value: unknown): value is Watcher {
  return typeof (value as Partial<Watcher>)?.watch === 'function';
}

export class RelayServer {
  readonly names: RelaySecretNames;
  readonly #o: RelayServerOptions;
  readonly #clock: Clock;
  readonly #events = new Emitter<RelayServerEvent>();
  readonly #counters: RelayCounters = { issued: 0, bootstraps: 0, renewals: 0, refused: {} };
  readonly #clientCheck: ClientCertificateCheck;
  readonly #table: ConnectionTable;
  readonly #convergence: ServerConvergence;
  #server: LeanGrpcServer | undefined;
  #provider: CredentialProvider | undefined;
  /** The roots client certificates are verified with at the TLS level (the signing trust). */
  #clientRoots: string | undefined;
  #followed: FollowedSecret[] = [];
  #monitor: ExpiryMonitor | undefined;
  #ca: CertificateAuthority | undefined;
  #signingSerial: string | undefined;
  #address: string | undefined;
  #knownIntermediates: string[] = [];
  #crlTimer: TimerHandle | undefined;
  #heartbeats: StreamHeartbeats | undefined;
  #serverRotator: Rotator | undefined;
  /** The roots agents should trust (the published `ca.crt`), pushed to their streams when it changes. */
  #agentTrust: string | undefined;
  #stopped = false;

  constructor(options: RelayServerOptions) {
    if (typeof options.address !== 'string' || !options.address.includes(':')) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'address must be host:port');
    }
    this.#o = options;
    this.names = resolveRelayNames(options.names);
    this.#clock = options.clock ?? systemClock;
    this.#clientCheck = new ClientCertificateCheck({
      clock: this.#clock,
      engine: options.engine,
      crlGraceSeconds: options.crlGraceSeconds,
    });
    this.#table = new ConnectionTable(
      this.#clock,
      () => this.#events.emit({ type: 'connections', count: this.#table.size }),
      (agent) => this.#convergence.hooks.closed(agent),
    );
    this.#convergence = new ServerConvergence({
      options: options.convergence ?? {},
      clock: this.#clock,
      target: this.#table,
      serverSecret: this.names.server,
      emit: (event) => this.#events.emit(event),
    });
  }

  subscribe(listener: (event: RelayServerEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** The bound `host:port` once started. */
  get address(): string | undefined {
    return this.#address;
  }

  /**
   * Loads the server certificate, the signing CA and the token, then listens. Resolves the bound `host:port`.
   * Throws `CERTLOOP_NOT_FOUND` when the server secret holds no valid certificate, `CERTLOOP_INVALID_CONFIG` when
   * the store is not watchable and no watcher was given.
   */
  async start(): Promise<string> {
    if (this.#address) return this.#address;
    this.#stopped = false;
    const o = this.#o;
    const watcher = o.watcher ?? (isWatcher(o.store) ? o.store : undefined);
    if (!watcher) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the store is not a Watcher: pass `watcher`');
    try {
      await this.#startCredentials(watcher);
      await this.#startSigning(watcher);
      const tokenVerifier = o.tokenVerifier ?? (await this.#startToken(watcher));
      await this.#convergence.start(o.store, watcher);
      this.#startServerRenewal();
      if (o.monitorExpiry !== false) {
        const secrets = [this.names.server, ...(o.ca ? [] : [this.names.signing, this.names.root])];
        this.#monitor = new ExpiryMonitor({ watcher, secrets, clock: this.#clock });
        await this.#monitor.start();
      }
      // client certificates are requested but not required at the TLS level, so Bootstrap works without one
      const server = new LeanGrpcServer({
        tls: this.#tlsOptions(),
        requestCert: true,
        maxReceiveMessageBytes: o.maxMessageBytes ?? 64 * 1024,
        maxSendMessageBytes: 1024 * 1024,
        ...(o.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: o.maxConcurrentStreams } : {}),
      });
      const ctx = this.#context(tokenVerifier);
      const certificates = certificatesService(ctx);
      const bootstrap = relayMethod('Certificates', 'Bootstrap');
      server.addUnary(bootstrap.path, protoCodec<BootstrapRequest, SignResponse>(bootstrap), certificates.Bootstrap);
      const renew = relayMethod('Certificates', 'Renew');
      server.addUnary(renew.path, protoCodec<RenewRequest, SignResponse>(renew), certificates.Renew);
      const table = this.#table;
      const heartbeats = new HeartbeatSweep<number>(this.#clock, ctx.heartbeatIntervalMs, (id) => {
        if (!table.heartbeat(id)) heartbeats.delete(id);
      });
      this.#heartbeats = heartbeats;
      const connect = relayMethod('Relay', 'Connect');
      server.addBidi(
        connect.path,
        protoCodec<AgentMessage, ServerMessage>(connect),
        relayService(ctx, this.#table, heartbeats),
      );
      this.#server = server;
      const port = await server.listen(o.address);
      const host = o.address.slice(0, o.address.lastIndexOf(':'));
      this.#address = `${host}:${port}`;
      return this.#address;
    } catch (err) {
      await this.stop();
      if (isCertloopError(err)) throw err;
      throw new CertloopError('CERTLOOP_UNAVAILABLE', 'the relay server could not start', { cause: err });
    }
  }

  #startServerRenewal(): void {
    const options = this.#o.serverCertificateRenewal;
    const current = this.#provider?.current();
    if (!options || !current) return;
    this.#serverRotator = serverCertificateRotator({
      options,
      store: this.#o.store,
      name: this.names.server,
      current: current.leaf,
      authority: () => {
        if (!this.#ca) throw new CertloopError('CERTLOOP_UNAVAILABLE', 'the server has no signing CA');
        return this.#ca;
      },
      clock: this.#clock,
      engine: this.#o.engine,
      onEvent: (event) => this.#events.emit({ type: 'server-renewal', event }),
    });
    this.#serverRotator.start();
  }

  async #startCredentials(watcher: Watcher): Promise<void> {
    const provider = new CredentialProvider({
      name: this.names.server,
      watcher,
      usage: 'serverAuth',
      clock: this.#clock,
      minVersion: 'TLSv1.2',
    });
    this.#provider = provider;
    provider.subscribe((event) => {
      if (event.type === 'updated') {
        this.#server?.setSecureContext(this.#tlsOptions());
        this.#convergence.setProviderTrust(event.material.trustBundlePem);
        this.#events.emit({
          type: 'server-certificate',
          serialNumber: event.material.leaf.serialNumber,
          previous: event.previous?.leaf.serialNumber,
        });
      } else if (event.type === 'rejected') {
        this.#events.emit({ type: 'server-certificate-rejected', error: event.error });
      }
    });
    await provider.start();
    if (!provider.current()) {
      throw new CertloopError('CERTLOOP_NOT_FOUND', `no valid server certificate in ${this.names.server}`);
    }
  }

  /** The server's TLS context now: the provider's certificate, the signing trust for client certificates. */
  #tlsOptions(): SecureContextOptions {
    const material = this.#provider?.current();
    if (!material) throw new CertloopError('CERTLOOP_NOT_FOUND', `no valid server certificate in ${this.names.server}`);
    const ca = this.#clientRoots ?? material.trustBundlePem;
    return {
      key: material.privateKeyPem,
      cert: material.certificatePem,
      ...(ca ? { ca } : {}),
      minVersion: 'TLSv1.2',
    };
  }

  async #setTrust(trust: SigningTrust): Promise<void> {
    // Agents whose certificates came from an earlier intermediate must still renew after it is replaced: client
    // paths may use the current intermediates and those of a few earlier signing secrets (same roots).
    const current = trust.intermediatesPem ? splitPemBundle(trust.intermediatesPem) : [];
    this.#knownIntermediates = [...new Set([...current, ...this.#knownIntermediates])].slice(0, 8);
    if (trust.trustBundlePem !== this.#clientRoots) {
      this.#clientRoots = trust.trustBundlePem;
      this.#server?.setSecureContext(this.#tlsOptions());
    }
    this.#convergence.setClientTrust(trust.trustBundlePem);
    await this.#clientCheck.setTrust({
      trustBundlePem: trust.trustBundlePem,
      intermediatesPem: this.#knownIntermediates.length ? joinPemBundle(this.#knownIntermediates) : undefined,
    });
    // the roots the server checks agents with are the ones it publishes to them (a readable bundle only)
    if (trust.trustBundlePem !== this.#agentTrust) {
      this.#agentTrust = trust.trustBundlePem;
      const sent = this.#table.sendTrustBundle(trust.trustBundlePem);
      if (sent > 0) this.#events.emit({ type: 'trust-bundle-sent', streams: sent });
    }
  }

  async #startSigning(watcher: Watcher): Promise<void> {
    const o = this.#o;
    if (o.ca) {
      this.#ca = o.ca;
      await this.#setTrust({
        trustBundlePem: o.clientTrustBundlePem ?? (await o.ca.trustBundle()),
        intermediatesPem: o.clientIntermediatesPem,
      });
      return;
    }
    let applied: Promise<void> = Promise.resolve();
    const apply = async (secret: Secret | undefined) => {
      if (!secret) return; // keep signing with the last good CA; a missing secret never started one
      try {
        const { ca, trust } = signingFromSecret(secret, {
          clock: this.#clock,
          engine: o.engine,
          policy: o.caPolicy,
          store: o.store,
          signingKey: await resolveSigningKey(secret, o.signingKey),
          ledger: o.ledger,
        });
        this.#ca = ca;
        this.#signingSerial = secret.annotations['certloop.io/serial'];
        await this.#setTrust(trust);
        this.#events.emit({ type: 'signing-authority', serialNumber: this.#signingSerial });
        this.#applyCrl(secret);
      } catch (err) {
        const error = isCertloopError(err)
          ? err
          : new CertloopError('CERTLOOP_CREDENTIAL_INVALID', 'the signing secret is unusable', { cause: err });
        this.#events.emit({ type: 'signing-authority-rejected', error });
      }
    };
    const followed = new FollowedSecret({
      watcher,
      name: this.names.signing,
      onChange: (secret) => {
        applied = applied.then(() => apply(secret));
      },
    });
    this.#followed.push(followed);
    await followed.start();
    await applied;
  }

  /** Takes the signing secret's CRL: refuses revoked agents from now on and ends their open streams. */
  #applyCrl(secret: Secret): void {
    let changed: boolean;
    try {
      changed = this.#clientCheck.setCrl(crlOfSecret(secret));
    } catch (err) {
      // the last good CRL stays in force
      const error = isCertloopError(err)
        ? err
        : new CertloopError('CERTLOOP_CRL_INVALID', 'the signing secret holds an unreadable CRL', { cause: err });
      this.#events.emit({ type: 'crl-rejected', error });
      return;
    }
    if (!changed) return;
    const crl = this.#clientCheck.currentCrl;
    const revoked = new CertloopError('CERTLOOP_CHAIN_REVOKED', 'the agent certificate was revoked');
    const disconnected = this.#table.end((agent) => this.#clientCheck.isRevoked(agent), revoked);
    if (disconnected > 0) {
      const refused = this.#counters.refused;
      refused.CERTLOOP_CHAIN_REVOKED = (refused.CERTLOOP_CHAIN_REVOKED ?? 0) + disconnected;
    }
    this.#events.emit({ type: 'crl', crlNumber: crlNumberOf(crl), nextUpdate: crl?.nextUpdate, disconnected });
    this.#scheduleCrlRefresh();
  }

  /** Plans the next `publishCrl`: halfway through the current CRL's lifetime plus up to a tenth of jitter. */
  #scheduleCrlRefresh(retryInMs?: number): void {
    if (this.#crlTimer) this.#clock.clearTimeout(this.#crlTimer);
    this.#crlTimer = undefined;
    const crl = this.#clientCheck.currentCrl;
    if (this.#stopped || this.#o.ca || this.#o.republishCrl === false || !crl?.nextUpdate) return;
    if (!this.#ca || !isRevokingAuthority(this.#ca)) return; // a bring-your-own signing secret: not ours to write
    let delay = retryInMs;
    if (delay === undefined) {
      const lifetime = crl.nextUpdate.getTime() - crl.thisUpdate.getTime();
      const at = crl.thisUpdate.getTime() + lifetime / 2 + Math.random() * (lifetime / 10);
      delay = Math.max(0, at - this.#clock.now().getTime());
    }
    this.#crlTimer = this.#clock.setTimeout(() => {
      this.#crlTimer = undefined;
      void this.#republishCrl();
    }, delay);
  }

  async #republishCrl(): Promise<void> {
    const ca = this.#ca;
    if (this.#stopped || !ca || !isRevokingAuthority(ca)) return;
    try {
      const published = await ca.publishCrl();
      // the watch brings the new secret (and reschedules); until then nothing else is planned
      this.#events.emit({ type: 'crl-published', crlNumber: published.crlNumber, nextUpdate: published.nextUpdate });
    } catch (err) {
      const error = isCertloopError(err)
        ? err
        : new CertloopError('CERTLOOP_UNAVAILABLE', 'the CRL could not be republished', { cause: err });
      this.#events.emit({ type: 'crl-publish-failed', error });
      this.#scheduleCrlRefresh(60_000);
    }
  }

  async #startToken(watcher: Watcher): Promise<TokenVerifier> {
    const followed = new FollowedSecret({ watcher, name: this.names.token });
    this.#followed.push(followed);
    await followed.start();
    const decoder = new TextDecoder();
    return sharedTokenVerifier(() => {
      const value = followed.current()?.data.token;
      return value && value.length > 0 ? decoder.decode(value) : undefined;
    });
  }

  #context(tokenVerifier: TokenVerifier): ServerContext {
    const o = this.#o;
    const maxLifetimeSeconds = o.maxLifetimeSeconds ?? 365 * DAY;
    return {
      clock: this.#clock,
      authority: () => {
        if (!this.#ca) throw new CertloopError('CERTLOOP_UNAVAILABLE', 'the server has no signing CA');
        return this.#ca;
      },
      clientCheck: this.#clientCheck,
      tokenVerifier,
      callLimiter: new PeerRateLimiter({ ...(o.callRateLimit ?? { burst: 200, perSecond: 100 }), clock: this.#clock }),
      bootstrapLimits: new BootstrapFailureLimiter({
        perCluster: o.failedBootstrapRateLimit,
        global: o.failedBootstrapBudget,
        clock: this.#clock,
      }),
      // the local CA's backdate is known; an injected CA's is not (its answer is checked after signing)
      rememberIssued: !o.ca,
      backdateSeconds: o.ca ? 0 : (o.caPolicy?.backdateSeconds ?? DEFAULT_ISSUANCE_POLICY.backdateSeconds),
      maxCsrBytes: o.maxCsrBytes ?? 16 * 1024,
      maxLifetimeSeconds,
      defaultLifetimeSeconds: Math.min(o.defaultLifetimeSeconds ?? 365 * DAY, maxLifetimeSeconds),
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 30_000,
      serverSerialNumber: () => this.#provider?.current()?.leaf.serialNumber ?? '',
      agentTrustBundlePem: () => this.#agentTrust,
      convergence: this.#convergence.hooks,
      counters: this.#counters,
      refused: (error, call) => {
        const refused = this.#counters.refused;
        refused[error.code] = (refused[error.code] ?? 0) + 1;
        this.#events.emit({ type: 'refused', method: call.method, peer: call.peer, code: error.code });
      },
      issued: (result, call) => {
        this.#counters.issued++;
        this.#events.emit({
          type: 'issued',
          method: call.method,
          cluster: call.cluster,
          peer: call.peer,
          serialNumber: result.serialNumber,
          notAfter: result.notAfter,
        });
      },
    };
  }

  /** Who is connected now, with which certificate. */
  connections(): ConnectedAgent[] {
    return this.#table.list();
  }

  /**
   * Ends the open streams of `cluster` (all of them, or those opened with `serialNumber`) with
   * PERMISSION_DENIED / `CERTLOOP_FORBIDDEN`. Resolves how many were ended.
   */
  disconnect(cluster: string, serialNumber?: string): number {
    return this.#table.end(
      (a) => a.cluster === cluster && (serialNumber === undefined || a.serialNumber === serialNumber),
      new CertloopError('CERTLOOP_FORBIDDEN', 'the server ended this agent stream'),
    );
  }

  /**
   * core's `ConvergenceSource` for this replica: one observation per cluster connected here (the bundle its
   * replicas reported; offline ones as last seen), this replica and its credential provider. With several
   * replicas, read every replica's published table instead (`StoreConvergenceSource` with `local: server`).
   */
  observations(): Promise<readonly BundleObservation[]> {
    return this.#convergence.observations();
  }

  /** The bundle table's reporters (per cluster and agent replica), for status pages. */
  bundleTable(): BundleEntry[] {
    return this.#convergence.entries();
  }

  /** What this replica publishes (for `StoreConvergenceSource`'s `local`). */
  snapshot(): BundleTableSnapshot {
    return this.#convergence.snapshot();
  }

  /** This replica's name in the published tables. */
  get replicaId(): string {
    return this.#convergence.replicaId;
  }

  /**
   * core's `RenewalRequester` for this replica's streams: `RenewNow` to every agent whose client certificate was not
   * issued by `activeIssuerKeyId`, now and when it connects later. Other replicas: `StoreRenewalRequester`.
   */
  requestRenewal(request: RenewalRequest): Promise<{ readonly notified: number }> {
    return this.#convergence.requestRenewal(request);
  }

  /** Writes this replica's bundle table to the store now (when publishing). */
  flushBundleTable(): Promise<void> {
    return this.#convergence.flush();
  }

  metrics(): RelayServerMetrics {
    const c = this.#counters;
    return {
      issued: c.issued,
      bootstraps: c.bootstraps,
      renewals: c.renewals,
      refused: { ...c.refused },
      connectedAgents: this.#table.size,
      serverSerialNumber: this.#provider?.current()?.leaf.serialNumber,
      crlNumber: crlNumberOf(this.#clientCheck.currentCrl),
      secrets: this.#monitor?.snapshot() ?? [],
      clientCheck: this.#clientCheck.stats,
    };
  }

  /** Ready to serve: a valid server certificate and a signing CA. */
  health(): { readonly ready: boolean; readonly serving: boolean; readonly signing: boolean } {
    const serving = this.#server !== undefined && this.#provider?.current() !== undefined;
    const signing = this.#ca !== undefined;
    return { ready: serving && signing, serving, signing };
  }

  /**
   * Stops listening: in-flight calls get up to `graceMs` (default 2 s) to finish, then every connection is closed.
   * Idempotent.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#address = undefined;
    this.#stopped = true;
    if (this.#crlTimer) this.#clock.clearTimeout(this.#crlTimer);
    this.#crlTimer = undefined;
    if (server) {
      this.#table.end(() => true, new CertloopError('CERTLOOP_CLOSED', 'the relay server is stopping'));
      await server.close(options.graceMs ?? 2000);
    }
    await this.#serverRotator?.stop();
    this.#serverRotator = undefined;
    await this.#convergence.stop();
    this.#heartbeats?.close();
    this.#heartbeats = undefined;
    this.#monitor?.stop();
    this.#monitor = undefined;
    await Promise.all(this.#followed.map((f) => f.stop()));
    this.#followed = [];
    this.#provider?.close();
  }
}
