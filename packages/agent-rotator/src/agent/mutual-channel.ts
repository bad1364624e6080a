/**
 * `@certloop/agent-rotator` MutualChannel: the one mutual-TLS connection an agent keeps to the relay server.
 *
 * `Certificates.Renew` and `Relay.Connect` ride the same grpc-js channel (one HTTP/2 connection, one handshake),
 * whose client certificate is the provider's current one at each new handshake (certificate-provider credentials
 * fed by a `CertificateSource`). A renewal does not touch the open connection: it stays valid, as the seed's
 * provider rule says, and the server still checks the certificate bound to it on every call (expiry, revocation).
 * A reconnect (grpc-js's own, after a drop) takes the current certificate.
 *
 * A certificate from another CA (a CA rotation) moves the connection at once, so retiring the old CA cuts no stream.
 *
 * Reconnects resume the TLS session of an earlier connection when the client certificate, the trust bundle and the
 * server address and name are those of that connection (`TlsSessionCache`, see tls-sessions.ts and the package
 * README): a renewal, a new trust bundle or `forgetSessions()` (a halt) makes the next connection a full handshake.
 *
 * Before the certificate a connection was opened with expires, while a newer one is in force (the agent renewed),
 * the channel refreshes by itself (at notAfter minus 1 % of the lifetime, at least a minute, at most a day), so no
 * stream is held on an expired certificate when a valid one exists; without a newer certificate (bring-your-own,
 * nobody renewed) the connection stays, as the seed's rule says.
 *
 * When the server refuses a call because of the connection's certificate (it expired long after a renewal, or was
 * revoked while a newer one is in force), `refresh()` opens a new connection with the current certificate; the
 * relay stream moves to it (make before break, see `RelayConnection`) and the old connection is closed when its
 * last user lets go (`Lease.release`), so an agent holds one connection but for that moment.
 */
import {
  CertloopError,
  type Clock,
  type CredentialProvider,
  inspectCertificate,
  systemClock,
  type TimerHandle,
} from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { CertificateSource } from '../shared/certificate-source.js';
import { relayProtocol } from '../shared/proto.js';
import { type ChannelTarget, channelOptions, type ServerChain } from './channel.js';
import { ResumingCredentials, TlsSessionCache, type TlsSessionStats } from './tls-sessions.js';

/** One use of the channel: its clients, and `release()` once done (closes a retired connection). */
export interface Lease {
  readonly generation: number;
  readonly certificates: grpc.Client;
  readonly relay: grpc.Client;
  release(): void;
}

interface Generation {
  readonly id: number;
  /** The provider's material version when this connection was opened. */
  readonly version: string | undefined;
  /** Who issued that certificate (authorityKeyIdentifier, hex): a CA rotation moves the connection to the new CA. */
  readonly issuerKeyId: string | undefined;
  readonly channel: grpc.Channel;
  readonly source: CertificateSource;
  readonly certificates: grpc.Client;
  readonly relay: grpc.Client;
  users: number;
  retired: boolean;
}

export interface MutualChannelOptions extends ChannelTarget {
  readonly provider: CredentialProvider;
  /** The roots that authenticate the server. */
  readonly trustBundlePem: () => string | undefined;
  readonly clock?: Clock | undefined;
  /** Resume TLS sessions on reconnect where that is safe (default true; see tls-sessions.ts). */
  readonly resumeTlsSessions?: boolean | undefined;
}

export class MutualChannel {
  readonly #o: MutualChannelOptions;
  readonly #listeners = new Set<(generation: number) => void>();
  #current: Generation | undefined;
  readonly #generations = new Set<Generation>();
  #trust: string | undefined;
  #nextId = 1;
  #closed = false;
  #serverChain: ServerChain | undefined;
  #serverChainSerial: { readonly chain: ServerChain; readonly serial: string | undefined } | undefined;
  #expiryTimer: TimerHandle | undefined;
  readonly #clock: Clock;
  /** When the current connection should leave its certificate (notAfter minus the margin), epoch ms. */
  #moveAt = Number.POSITIVE_INFINITY;
  readonly #unsubscribe: () => void;
  readonly #sessions: TlsSessionCache;

  constructor(options: MutualChannelOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#sessions = new TlsSessionCache({
      clock: this.#clock,
      ...(options.resumeTlsSessions === false ? { maxSessions: 0 } : {}),
    });
    // a certificate that arrives after the connection's is already due to move (renewed late): move now; so does one
    // from another CA (a CA rotation's drain), so that retiring the old CA never cuts a held stream
    this.#unsubscribe = options.provider.subscribe((event) => {
      if (event.type !== 'updated') return;
      // sessions are keyed by the certificate already; a new one also drops them outright
      this.#sessions.clear();
      if (!this.#current) return;
      const issuer = options.provider.current()?.leaf.authorityKeyId;
      if (this.#clock.now().getTime() >= this.#moveAt || issuer !== this.#current.issuerKeyId) this.refresh();
    });
  }

  /** What the server presented in the latest handshake that verified (undefined before the first). */
  get serverChain(): ServerChain | undefined {
    return this.#serverChain;
  }

  /** Called with the new generation after `refresh()` (the relay stream moves to it). */
  onRefresh(listener: (generation: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The generation calls go to now (0 before the first use). */
  get generation(): number {
    return this.#current?.id ?? 0;
  }

  /**
   * Takes the current connection for a call or a stream. Throws `CERTLOOP_UNAVAILABLE` (from `trustBundlePem`'s
   * absence) when there is no trust bundle yet. A changed trust bundle opens a new connection.
   */
  acquire(): Lease {
    const trust = this.#o.trustBundlePem();
    if (this.#closed || trust === undefined) {
      throw new CertloopError(
        this.#closed ? 'CERTLOOP_CLOSED' : 'CERTLOOP_UNAVAILABLE',
        this.#closed ? 'the agent channel is closed' : 'no trust bundle for the relay server yet',
      );
    }
    if (!this.#current || this.#trust !== trust) this.#open(trust);
    const generation = this.#current!;
    generation.users++;
    let released = false;
    return {
      generation: generation.id,
      certificates: generation.certificates,
      relay: generation.relay,
      release: () => {
        if (released) return;
        released = true;
        generation.users--;
        this.#closeIfIdle(generation);
      },
    };
  }

  /**
   * True when the connection may carry an older certificate than the provider's current one (it was opened before
   * the last swap): a refusal of the connection's certificate is then cured by `refresh()`, not by waiting.
   */
  mayBeBehind(): boolean {
    const current = this.#current;
    return current !== undefined && current.version !== this.#o.provider.current()?.version;
  }

  /** Opens a new connection with the current certificate for the next calls; the old one closes once unused. */
  refresh(): void {
    const trust = this.#o.trustBundlePem();
    if (this.#closed || trust === undefined) return;
    this.#open(trust);
    const id = this.#current!.id;
    for (const listener of this.#listeners) listener(id);
  }

  #open(trust: string): void {
    const previous = this.#current;
    const source = new CertificateSource({ provider: this.#o.provider, trustBundlePem: trust });
    const credentials = new ResumingCredentials({
      source,
      target: this.#o,
      sessions: this.#sessions,
      onServerChain: (chain) => {
        this.#serverChain = chain;
      },
    });
    const channel = new grpc.Channel(this.#o.serverAddress, credentials, channelOptions(this.#o));
    const protocol = relayProtocol();
    const override = { channelOverride: channel };
    this.#current = {
      id: this.#nextId++,
      version: this.#o.provider.current()?.version,
      issuerKeyId: this.#o.provider.current()?.leaf.authorityKeyId,
      channel,
      source,
      certificates: new protocol.Certificates(this.#o.serverAddress, grpc.credentials.createInsecure(), override),
      relay: new protocol.Relay(this.#o.serverAddress, grpc.credentials.createInsecure(), override),
      users: 0,
      retired: false,
    };
    this.#generations.add(this.#current);
    this.#trust = trust;
    this.#planExpiryMove();
    if (previous) {
      previous.retired = true;
      this.#closeIfIdle(previous);
    }
  }

  /** Moves off the connection's certificate shortly before it expires, when a newer one is in force by then. */
  #planExpiryMove(): void {
    if (this.#expiryTimer) this.#clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    const leaf = this.#o.provider.current()?.leaf;
    this.#moveAt = Number.POSITIVE_INFINITY;
    if (!leaf || this.#closed) return;
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    const margin = Math.min(86_400_000, Math.max(60_000, lifetime / 100));
    this.#moveAt = leaf.notAfter.getTime() - margin;
    const delay = Math.max(0, this.#moveAt - this.#clock.now().getTime());
    const generation = this.#current?.id;
    this.#expiryTimer = this.#clock.setTimeout(() => {
      this.#expiryTimer = undefined;
      if (this.#closed || this.#current?.id !== generation) return;
      if (this.mayBeBehind()) this.refresh();
    }, delay);
  }

  #closeIfIdle(generation: Generation): void {
    if (!generation.retired || generation.users > 0) return;
    this.#generations.delete(generation);
    generation.channel.close();
    generation.source.close();
  }

  /** How many connections (generations) are open: 1, or 2 while the stream moves after a refresh. */
  get openConnections(): number {
    return this.#generations.size;
  }

  /** Full handshakes and resumed connections so far, and TLS sessions stored. */
  get tlsSessions(): TlsSessionStats {
    return this.#sessions.stats;
  }

  /**
   * The server said which certificate it serves now (`Welcome.server_serial_number`): when that is not the one the
   * current connection's server chain shows (a resumed session from before the server changed its certificate, on
   * a server that keeps its ticket keys across the change), the sessions are forgotten, so the next connection is a
   * full handshake that shows the server's current certificate.
   */
  noteServerSerial(serialNumber: string): void {
    const chain = this.#serverChain;
    if (!serialNumber || !chain) return;
    if (this.#serverChainSerial?.chain !== chain) {
      let serial: string | undefined;
      try {
        serial = inspectCertificate(chain.leafPem).serialNumber;
      } catch {
        serial = undefined;
      }
      this.#serverChainSerial = { chain, serial };
    }
    if (this.#serverChainSerial.serial !== serialNumber) this.#sessions.clear();
  }

  /** Forgets every TLS session: the next connection is a full handshake (an agent halts, e.g. revoked). */
  forgetSessions(): void {
    this.#sessions.clear();
  }

  /** Closes every connection (and forgets the TLS sessions). */
  close(): void {
    this.#closed = true;
    this.#sessions.clear();
    this.#unsubscribe();
    if (this.#expiryTimer) this.#clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#current = undefined;
    for (const generation of this.#generations) {
      generation.channel.close();
      generation.source.close();
    }
    this.#generations.clear();
  }
}
