/**
 * `@certloop/agent-rotator` RelayAgent: the agent's side of the relay, as the seed lays it out.
 *
 * - Watcher to provider: a core `CredentialProvider` follows `relay-client-tls-secret` and always holds the current
 *   valid client certificate.
 * - Rotator: core's `Rotator` on the elected replica only (any `LeaderElector`), renewing through
 *   `Certificates.Renew` ({@link RelayCaClient}); with no certificate, or one that expired while the agent was down,
 *   it bootstraps with the token from `relay-identity-token-secret`. Not started for a bring-your-own secret.
 * - gRPC client: a {@link RelayConnection} holding `Relay.Connect` with the provider's current certificate,
 *   reconnecting with whatever is current when the stream drops, and moving to a new certificate when the
 *   provider swaps (replicas that are not leader see it through the watcher).
 * - The server is authenticated with `ca.crt` of `relay-root-tls-secret` (or `trustBundlePem`). The server sends the
 *   roots agents should trust (Welcome, and whenever they change: a CA rotation's prepare and retire); the agent
 *   adopts a different bundle only when it is safe (see `trust-adoption.ts`): the elected replica writes it to a
 *   certloop-managed root secret with compare-and-swap (every replica then follows it), a bring-your-own root secret
 *   is never written (`trust-bundle-refused`, `bring-your-own`), and a fixed `trustBundlePem` is replaced in memory.
 * - Halts (see `halt.ts`): a revoked certificate, or a lifetime the server will not issue (due at once), stops the
 *   retries in a `halted` state until the client secret or the token changes.
 */
import {
  type BackoffOptions,
  CertloopError,
  type Clock,
  CredentialProvider,
  type CryptoEngine,
  Emitter,
  isCertloopError,
  isManagedSecret,
  type KeyAlgorithm,
  type LeaderElector,
  type LeaderEvent,
  type RelaySecretNames,
  Rotator,
  type RotatorEvent,
  readTlsMaterial,
  type SecretStore,
  systemClock,
  trustBundleDigest,
  type Watcher,
} from '@certloop/core';
import { FollowedSecret } from '../shared/followed-secret.js';
import { assertClusterName, resolveRelayNames } from '../shared/names.js';
import { type ConnectionEvent, type ConnectionState, RelayConnection } from './connection.js';
import { type HaltReason, type HaltState, haltReasonOf, resumedBy } from './halt.js';
import { IssuerDrain } from './issuer-drain.js';
import { MutualChannel } from './mutual-channel.js';
import { RelayCaClient, UNTRUSTED_CERTIFICATE } from './relay-ca-client.js';
import { assertKeepsServer, readOfferedBundle, trustBundleRefused } from './trust-adoption.js';

const YEAR = 365 * 86_400;

function safeDigest(pem: string): string {
  try {
    return trustBundleDigest(pem);
  } catch {
    return '';
  }
}

export interface RelayAgentOptions {
  /** Where the agent's secrets are (memory, file, Kubernetes...). */
  readonly store: SecretStore;
  /** Source of secret changes (default: the store itself, when it is also a `Watcher`). */
  readonly watcher?: Watcher;
  /** This agent's cluster name: the identity of its client certificate (CN and DNS SAN). */
  readonly cluster: string;
  /** `host:port` of the relay server. */
  readonly serverAddress: string;
  /** The name the server certificate must carry, when it differs from the address's host. */
  readonly serverName?: string;
  /** Only the leader rotates (file lease, Kubernetes Lease...); without one this replica always does. */
  readonly leader?: LeaderElector;
  /** Start and stop `leader` with the agent (default true). */
  readonly manageLeader?: boolean;
  /** Share of the lifetime left when rotation starts, in (0, 1) (the seed's 0.1 gives 36.5 days of a year). */
  readonly ratio: number;
  /** Share of the grace period by which renewal may start earlier (default 0.1). */
  readonly jitter?: number;
  /** Lifetime asked for (default 365 days; the server may shorten it). */
  readonly lifetimeSeconds?: number;
  readonly names?: Partial<RelaySecretNames>;
  /** Roots that authenticate the server (default: `ca.crt` of `relay-root-tls-secret`, followed). */
  readonly trustBundlePem?: string;
  /** Free text the server lists with the connection (replica name, version). */
  readonly agentName?: string;
  /** Hold the `Relay.Connect` stream (default true). */
  readonly connect?: boolean;
  readonly heartbeatIntervalMs?: number;
  readonly reconnectBackoff?: BackoffOptions;
  readonly rotationBackoff?: BackoffOptions;
  /** How often an idle rotator re-reads the secret (default 60 s). */
  readonly recheckIntervalMs?: number;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Deadline of one signing call (default 30 s). */
  readonly callTimeoutMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly engine?: CryptoEngine;
}

export type RelayAgentEvent =
  | { readonly type: 'certificate'; readonly serialNumber: string; readonly notAfter: Date; readonly version: string }
  | { readonly type: 'certificate-rejected'; readonly error: CertloopError }
  | { readonly type: 'certificate-expired'; readonly serialNumber: string }
  | { readonly type: 'rotation'; readonly event: RotatorEvent; readonly path: 'renew' | 'bootstrap' | undefined }
  | { readonly type: 'leader'; readonly event: LeaderEvent }
  | { readonly type: 'connection'; readonly event: ConnectionEvent }
  | {
      /** The trust bundle the agent authenticates the server with changed (a CA rotation's prepare or retire). */
      readonly type: 'trust-bundle';
      readonly digest: string;
    }
  /**
   * The agent took the trust bundle its server sent: `stored` when it wrote it to its root secret (the watch then
   * brings it), else held in memory (a fixed `trustBundlePem`).
   */
  | { readonly type: 'trust-bundle-adopted'; readonly digest: string; readonly stored: boolean }
  /** The agent did not take the trust bundle its server sent (`CERTLOOP_TRUST_BUNDLE_REFUSED`, or the write failed). */
  | { readonly type: 'trust-bundle-refused'; readonly error: CertloopError }
  /** A refusal retrying cannot cure: the agent stops trying until its material changes. */
  | { readonly type: 'halted'; readonly reason: HaltReason; readonly error: CertloopError }
  | { readonly type: 'resumed'; readonly reason: HaltReason; readonly by: 'client-secret' | 'token' };

export interface RelayAgentStatus {
  readonly cluster: string;
  /** `managed`: a rotator keeps the certificate; `bring-your-own`: someone else does (no rotator). */
  readonly mode: 'managed' | 'bring-your-own' | 'stopped';
  readonly leader: boolean;
  readonly certificate:
    | { readonly serialNumber: string; readonly notBefore: Date; readonly notAfter: Date; readonly expired: boolean }
    | undefined;
  readonly connection: {
    readonly state: ConnectionState;
    readonly clientSerialNumber: string | undefined;
    readonly serverSerialNumber: string | undefined;
    /** Mutual-TLS connections opened with a full handshake and resumed from an earlier TLS session (see tls-sessions.ts). */
    readonly tlsSessions: { readonly full: number; readonly resumed: number };
  };
  readonly lastRotation:
    | { readonly at: Date; readonly result: 'succeeded' | 'failed' | 'superseded'; readonly code?: string }
    | undefined;
  /** Set while the agent has stopped retrying (revoked, or a lifetime the server will not issue). */
  readonly halted: { readonly reason: HaltReason; readonly code: string; readonly since: Date } | undefined;
}

function isWatcher(value: unknown): value is Watcher {
  return typeof (value as Partial<Watcher>)?.watch === 'function';
}

export class RelayAgent {
  readonly cluster: string;
  readonly names: RelaySecretNames;
  readonly #o: RelayAgentOptions;
  readonly #clock: Clock;
  readonly #events = new Emitter<RelayAgentEvent>();
  #provider: CredentialProvider | undefined;
  #rotator: Rotator | undefined;
  #caClient: RelayCaClient | undefined;
  #connection: RelayConnection | undefined;
  #followed: FollowedSecret[] = [];
  #unsubscribers: Array<() => void> = [];
  #mode: RelayAgentStatus['mode'] = 'stopped';
  #lastRotation: RelayAgentStatus['lastRotation'];
  readonly #drain = new IssuerDrain();
  #bundleDigest: { pem: string | undefined; digest: string } = { pem: undefined, digest: '' };
  #started = false;
  #token: FollowedSecret | undefined;
  #halted: HaltState | undefined;
  /** Settles when a halted rotator has stopped. */
  #rotatorStopped: Promise<void> = Promise.resolve();
  /** After a revoked agent resumed with a new token: connect once the new certificate is in. */
  #connectOnNextCertificate = false;
  #trust: () => string | undefined = () => undefined;
  /** A bundle adopted in memory, replacing a fixed `trustBundlePem`. */
  #adopted: string | undefined;
  /** Offers are handled one at a time, in order. */
  #adoption: Promise<void> = Promise.resolve();
  #lastRefusal: string | undefined;
  /** The last bundle the server sent (offered again when this replica is elected). */
  #lastOffer: string | undefined;
  #channel: MutualChannel | undefined;

  constructor(options: RelayAgentOptions) {
    assertClusterName(options.cluster);
    if (typeof options.serverAddress !== 'string' || !options.serverAddress.includes(':')) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'serverAddress must be host:port');
    }
    if (!(options.ratio > 0 && options.ratio < 1)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'ratio must be in (0, 1)');
    }
    this.cluster = options.cluster;
    this.names = resolveRelayNames(options.names);
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  subscribe(listener: (event: RelayAgentEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Starts every component; resolves once the current secrets have been read. Idempotent. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const o = this.#o;
    const watcher = o.watcher ?? (isWatcher(o.store) ? o.store : undefined);
    if (!watcher) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the store is not a Watcher: pass `watcher`');
    const decoder = new TextDecoder();

    let trust: () => string | undefined;
    if (o.trustBundlePem) {
      const fixed = o.trustBundlePem;
      trust = () => this.#adopted ?? fixed;
    } else {
      const root = new FollowedSecret({ watcher, name: this.names.root, onChange: () => this.#bundleChanged() });
      this.#followed.push(root);
      await root.start();
      trust = () => {
        const secret = root.current();
        if (!secret) return undefined;
        const m = readTlsMaterial(secret);
        return m.trustBundlePem ?? m.certificatePem;
      };
    }
    const token = new FollowedSecret({
      watcher,
      name: this.names.token,
      onChange: (secret) => this.#materialChanged('token', secret?.version),
    });
    this.#token = token;
    this.#followed.push(token);
    await token.start();

    this.#trust = trust;
    const provider = new CredentialProvider({
      name: this.names.client,
      watcher,
      usage: 'clientAuth',
      clock: this.#clock,
      minVersion: 'TLSv1.2',
    });
    this.#provider = provider;
    this.#unsubscribers.push(
      provider.subscribe((event) => {
        if (event.type === 'updated') {
          const leaf = event.material.leaf;
          this.#events.emit({
            type: 'certificate',
            serialNumber: leaf.serialNumber,
            notAfter: leaf.notAfter,
            version: event.material.version,
          });
          this.#rotator?.poke();
          this.#materialChanged('client-secret', event.material.version);
          if (this.#connectOnNextCertificate && !this.#halted) {
            this.#connectOnNextCertificate = false;
            this.#startConnection();
          }
        } else if (event.type === 'rejected') {
          this.#events.emit({ type: 'certificate-rejected', error: event.error });
          this.#rotator?.poke();
        } else if (event.type === 'deleted') {
          this.#rotator?.poke();
        } else if (event.type === 'expired') {
          this.#events.emit({ type: 'certificate-expired', serialNumber: event.material.leaf.serialNumber });
          this.#rotator?.poke();
        }
      }),
    );
    await provider.start();

    this.#digestOf();
    // one mutual-TLS connection for renewals and the relay stream
    const channel = new MutualChannel({
      serverAddress: o.serverAddress,
      serverName: o.serverName,
      provider,
      trustBundlePem: trust,
      clock: this.#clock,
    });
    this.#channel = channel;
    const caClient = new RelayCaClient({
      channel,
      bundleDigest: () => this.#digestOf(),
      serverAddress: o.serverAddress,
      serverName: o.serverName,
      cluster: this.cluster,
      trustBundlePem: trust,
      provider,
      token: () => {
        const value = token.current()?.data.token;
        return value && value.length > 0 ? decoder.decode(value) : undefined;
      },
      clock: this.#clock,
      callTimeoutMs: o.callTimeoutMs,
      ratio: o.ratio,
    });
    this.#caClient = caClient;

    const existing = await o.store.get(this.names.client);
    this.#mode = existing && !isManagedSecret(existing) ? 'bring-your-own' : 'managed';
    if (this.#mode === 'managed') {
      const rotator = new Rotator({
        store: o.store,
        name: this.names.client,
        ca: caClient,
        ratio: o.ratio,
        jitter: o.jitter ?? 0.1,
        lifetimeSeconds: o.lifetimeSeconds ?? YEAR,
        profile: 'client',
        role: 'client',
        subject: { commonName: this.cluster },
        dnsNames: [this.cluster],
        ...(o.leader ? { leader: o.leader } : {}),
        ...(o.keyAlgorithm ? { keyAlgorithm: o.keyAlgorithm } : {}),
        ...(o.recheckIntervalMs ? { recheckIntervalMs: o.recheckIntervalMs } : {}),
        ...(o.rotationBackoff ? { backoff: o.rotationBackoff } : {}),
        ...(o.random ? { random: o.random } : {}),
        ...(o.engine ? { engine: o.engine } : {}),
        activeIssuerKeyId: () => this.#drain.activeIssuerKeyId(),
        clock: this.#clock,
      });
      this.#rotator = rotator;
      this.#unsubscribers.push(
        rotator.subscribe((event) => {
          const path = event.type === 'succeeded' || event.type === 'failed' ? caClient.lastPath : undefined;
          if (event.type === 'succeeded') this.#drain.renewed();
          if (event.type === 'succeeded' || event.type === 'superseded' || event.type === 'failed') {
            this.#lastRotation = {
              at: this.#clock.now(),
              result: event.type,
              ...(event.type === 'failed' ? { code: event.error.code } : {}),
            };
          }
          this.#events.emit({ type: 'rotation', event, path });
          if (event.type === 'failed') {
            const reason = haltReasonOf(event.error);
            if (reason) this.#halt(reason, event.error);
          }
        }),
      );
    }
    if (o.leader) {
      this.#unsubscribers.push(
        o.leader.subscribe((event) => {
          this.#events.emit({ type: 'leader', event });
          // a bundle offered while no replica was leader: the new leader writes it
          if (event.type === 'elected' && this.#lastOffer !== undefined) this.#offered(this.#lastOffer);
        }),
      );
      if (o.manageLeader !== false) o.leader.start();
    }
    this.#rotator?.start();

    this.#startConnection();
  }

  /** Opens the relay stream (unless `connect: false`), replacing a stopped connection. */
  #startConnection(): void {
    const o = this.#o;
    const provider = this.#provider;
    if (o.connect === false || !provider || !this.#started) return;
    {
      this.#connection?.stop();
      const connection = new RelayConnection({
        serverAddress: o.serverAddress,
        serverName: o.serverName,
        cluster: this.cluster,
        agent: o.agentName,
        bundleDigest: () => this.#digestOf(),
        provider,
        trustBundlePem: this.#trust,
        channel: this.#channel,
        ...(o.heartbeatIntervalMs ? { heartbeatIntervalMs: o.heartbeatIntervalMs } : {}),
        ...(o.reconnectBackoff ? { backoff: o.reconnectBackoff } : {}),
        ...(o.random ? { random: o.random } : {}),
        clock: this.#clock,
      });
      this.#connection = connection;
      this.#unsubscribers.push(
        connection.subscribe((event) => {
          if (event.type === 'renew-now' && this.#drain.request(event.activeIssuerKeyId)) this.#rotator?.poke();
          if (event.type === 'trust-bundle-offered') this.#offered(event.trustBundlePem);
          const error = event.type === 'disconnected' || event.type === 'connect-failed' ? event.error : undefined;
          if (error && UNTRUSTED_CERTIFICATE.has(error.code) && this.#drain.refusedAsUntrusted()) this.#rotator?.poke();
          this.#events.emit({ type: 'connection', event });
          if (connection !== this.#connection) return;
          if (haltReasonOf(error) !== 'revoked') return;
          // a revoked certificate older than the current one (the stream's connection was opened before a
          // renewal) is cured by a fresh connection, which the connection makes; the current one halts the agent
          const current = this.#provider?.current()?.leaf.serialNumber;
          if (event.type === 'disconnected' && event.clientSerialNumber !== current) return;
          if (this.#channel?.mayBeBehind()) this.#channel.refresh();
          else this.#halt('revoked', error!);
        }),
      );
      connection.start();
    }
  }

  /** Digest of the bundle the agent authenticates the server with now ('' when it has none). */
  #digestOf(): string {
    const pem = this.#trust();
    if (pem !== this.#bundleDigest.pem) {
      let digest = '';
      try {
        digest = pem ? trustBundleDigest(pem) : '';
      } catch {
        // an unreadable bundle reports nothing
      }
      this.#bundleDigest = { pem, digest };
    }
    return this.#bundleDigest.digest;
  }

  #bundleChanged(): void {
    const before = this.#bundleDigest.digest;
    const digest = this.#digestOf();
    if (digest === before) return;
    this.#events.emit({ type: 'trust-bundle', digest });
    this.#connection?.reportBundle();
  }

  /** The server sent a trust bundle: adopt it if it differs and is safe (one offer at a time). */
  #offered(text: string): void {
    this.#lastOffer = text;
    this.#adoption = this.#adoption.then(async () => {
      try {
        await this.#adopt(text);
      } catch (err) {
        const error = isCertloopError(err)
          ? err
          : new CertloopError('CERTLOOP_UNAVAILABLE', 'the trust bundle could not be adopted', { cause: err });
        // the server chain judged is the one the current connection's session was verified with: on a server that
        // keeps its ticket keys across a certificate change, a resumed connection still shows the old certificate;
        // the next connection is a full handshake, and shows the server's current one
        if (error.details?.refusal === 'locks-out') this.#channel?.forgetSessions();
        const key = `${error.code}:${String(error.details?.refusal)}:${String(error.details?.digest)}`;
        if (key === this.#lastRefusal || !this.#started) return;
        this.#lastRefusal = key;
        this.#events.emit({ type: 'trust-bundle-refused', error });
      }
    });
  }

  async #adopt(text: string): Promise<void> {
    if (!this.#started) return;
    const offered = readOfferedBundle(text);
    if (offered.digest === this.#digestOf()) return;
    await assertKeepsServer(offered, this.#channel?.serverChain, this.#clock);
    if (this.#o.trustBundlePem) {
      this.#adopted = offered.pem;
      this.#lastRefusal = undefined;
      this.#events.emit({ type: 'trust-bundle-adopted', digest: offered.digest, stored: false });
      this.#bundleChanged();
      return;
    }
    const store = this.#o.store;
    const root = await store.get(this.names.root);
    if (!root) return; // nothing to authenticate with, nothing to update
    const held = readTlsMaterial(root).trustBundlePem;
    if (held && safeDigest(held) === offered.digest) return; // written already: the watch brings it
    if (!isManagedSecret(root)) {
      throw trustBundleRefused('bring-your-own', `${this.names.root} is bring-your-own: certloop does not write it`, {
        digest: offered.digest,
      });
    }
    // the server's own store (the root's key, or the signing secret, is there): the CA rotation publishes in it
    if (root.data['tls.key']?.length || (await store.get(this.names.signing))) return;
    // the elected replica writes; the others follow the secret
    if (this.#o.leader && !this.#o.leader.isLeader()) return;
    const bytes = new TextEncoder().encode(offered.pem);
    try {
      await store.put(
        this.names.root,
        { ...root, data: { ...root.data, 'ca.crt': bytes, 'tls.crt': bytes } },
        { expectedVersion: root.version },
      );
    } catch (err) {
      // another writer (a replica that was leader a moment ago) got there first: done if it wrote this bundle
      if (!isCertloopError(err, 'CERTLOOP_CONFLICT')) throw err;
      const now = await store.get(this.names.root);
      const held = now ? readTlsMaterial(now).trustBundlePem : undefined;
      if (!held || safeDigest(held) !== offered.digest) throw err;
      return;
    }
    this.#lastRefusal = undefined;
    this.#events.emit({ type: 'trust-bundle-adopted', digest: offered.digest, stored: true });
  }

  /** Digest of the trust bundle this agent holds and reports (core's `trustBundleDigest`; '' before it has one). */
  get trustBundleDigest(): string {
    return this.#digestOf();
  }

  /** Stops retrying: the rotator (and, when revoked, the stream) until the material changes. */
  #halt(reason: HaltReason, error: CertloopError): void {
    if (this.#halted || !this.#started) return;
    const material = this.#provider?.current();
    this.#halted = {
      reason,
      code: error.code,
      since: this.#clock.now(),
      serialNumber: material?.leaf.serialNumber,
      clientVersion: material?.version,
      tokenVersion: this.#token?.current()?.version,
    };
    const rotator = this.#rotator;
    if (rotator) this.#rotatorStopped = rotator.stop();
    // a halted agent's next connection, whenever it comes, is a full handshake
    this.#channel?.forgetSessions();
    if (reason === 'revoked') {
      this.#connection?.stop();
      this.#caClient?.setRevoked(material?.leaf.serialNumber);
    }
    this.#events.emit({ type: 'halted', reason, error });
  }

  /** A new client secret or token: a halted agent tries again (a revoked one bootstraps with a new token). */
  #materialChanged(kind: 'client-secret' | 'token', version: string | undefined): void {
    const halt = this.#halted;
    if (!halt) return;
    const by = resumedBy(halt, { kind, version });
    if (!by) return;
    this.#halted = undefined;
    void this.#rotatorStopped.then(() => {
      if (!this.#started || this.#halted) return;
      const rotator = this.#rotator;
      if (halt.reason === 'revoked' && by === 'token') {
        // the revoked certificate may not renew: bootstrap with the new token now, connect with what it brings
        rotator?.renewNow();
        this.#connectOnNextCertificate = true;
      } else if (halt.reason === 'revoked') {
        this.#channel?.refresh();
        this.#startConnection();
      }
      rotator?.start();
      this.#events.emit({ type: 'resumed', reason: halt.reason, by });
    });
  }

  status(): RelayAgentStatus {
    const material = this.#provider?.current();
    const now = this.#clock.now().getTime();
    const connection = this.#connection?.connection;
    return {
      cluster: this.cluster,
      mode: this.#mode,
      leader: this.#o.leader ? this.#o.leader.isLeader() : this.#mode === 'managed',
      certificate: material
        ? {
            serialNumber: material.leaf.serialNumber,
            notBefore: material.leaf.notBefore,
            notAfter: material.leaf.notAfter,
            expired: now >= material.leaf.notAfter.getTime(),
          }
        : undefined,
      connection: {
        state: this.#connection?.state ?? 'idle',
        clientSerialNumber: connection?.clientSerialNumber,
        serverSerialNumber: connection?.serverSerialNumber,
        tlsSessions: {
          full: this.#channel?.tlsSessions.full ?? 0,
          resumed: this.#channel?.tlsSessions.resumed ?? 0,
        },
      },
      lastRotation: this.#lastRotation,
      halted: this.#halted
        ? { reason: this.#halted.reason, code: this.#halted.code, since: this.#halted.since }
        : undefined,
    };
  }

  /** The provider holding the current client certificate (e.g. to serve other TLS clients with it). */
  get provider(): CredentialProvider | undefined {
    return this.#provider;
  }

  /** Stops every component: the stream closes, an in-flight rotation is abandoned before it writes. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#connection?.stop();
    this.#connection = undefined;
    await this.#rotator?.stop();
    this.#rotator = undefined;
    if (this.#o.leader && this.#o.manageLeader !== false) await this.#o.leader.stop();
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    await Promise.all(this.#followed.map((f) => f.stop()));
    this.#followed = [];
    this.#provider?.close();
    this.#caClient?.close();
    this.#channel?.close();
    this.#channel = undefined;
    this.#mode = 'stopped';
    this.#halted = undefined;
    await this.#adoption;
    this.#connectOnNextCertificate = false;
  }
}
