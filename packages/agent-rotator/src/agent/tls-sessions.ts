/**
 * `@certloop/agent-rotator` TLS session resumption for an agent's mutual-TLS connection.
 *
 * A reconnect with a session ticket of an earlier connection skips the certificate exchange: no server certificate
 * to verify, no client certificate to sign with, no key exchange signatures (the resumed session's keys come from
 * the earlier one; Node has no 0-RTT early data, so nothing is replayable). What a resumed connection carries is
 * the earlier handshake's outcome: the server sees the client certificate of the original handshake, and the client
 * trusts the server it verified then. So a session is only offered when everything that handshake depended on is
 * unchanged; the cache is keyed by all of it ({@link sessionKey}):
 * - the client certificate (after a renewal the server would otherwise still see the old one: a resumed TLS 1.3
 *   session carries the peer certificate of its original handshake),
 * - the trust bundle (a session verified under roots the agent no longer trusts is not a verified server),
 * - the server address and the name the server certificate was checked against.
 * A resumed handshake shows no server certificate, so a change of the server's certificate is the server's to end
 * resumption over: Node's `setSecureContext` brings new ticket keys (older tickets no longer decrypt); a server that
 * keeps its ticket keys is caught by `MutualChannel.noteServerSerial` (the serial in its Welcome) one connection
 * later. Each session keeps the server chain verified in the full handshake it comes from, which a resumed
 * connection reports as its server chain.
 *
 * `ResumingCredentials` are grpc-js channel credentials of certloop's own: grpc-js 1.14 builds each connection with
 * `credentials._createSecureConnector(...).connect(socket)`, and this connector is the one of grpc-js's
 * certificate-provider credentials (`tls.connect({ socket, secureContext, ... })`, the client certificate being the
 * `CertificateSource`'s current one) plus `session` and the `'session'` events.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext, type SecureContext, connect as tlsConnect } from 'node:tls';
import { type Clock, systemClock } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import type { CertificateSource } from '../shared/certificate-source.js';
import { type ChannelTarget, presentedChain, type ServerChain } from './channel.js';

/**
 * The key a session is kept under: a digest of the server address, the server name, the trust bundle and the
 * client certificate chain (PEM) the connection was made with. Any change of one of them misses.
 */
export function sessionKey(input: {
  readonly serverAddress: string;
  readonly serverName: string | undefined;
  readonly trustBundlePem: string;
  readonly certificatePem: string;
}): string {
  const hash = createHash('sha256');
  for (const part of [input.serverAddress, input.serverName ?? '', input.trustBundlePem, input.certificatePem]) {
    hash.update(`${Buffer.byteLength(part)}:`).update(part);
  }
  return hash.digest('base64');
}

export interface TlsSessionCacheOptions {
  /** Most sessions kept (default 4; 0 turns resumption off). */
  readonly maxSessions?: number | undefined;
  /**
   * A session older than this is not offered (default 300 s, the lifetime of a Node TLS server's tickets, its
   * `sessionTimeout`); the server enforces its own lifetime as well.
   */
  readonly maxAgeMs?: number | undefined;
  readonly clock?: Clock | undefined;
}

/** Connections made: full handshakes, resumed ones, and sessions stored. */
export interface TlsSessionStats {
  readonly full: number;
  readonly resumed: number;
  readonly stored: number;
}

interface Entry {
  readonly session: Buffer;
  /** The server chain verified in the full handshake this session comes from. */
  readonly chain: ServerChain | undefined;
  readonly at: number;
}

/**
 * Contract: sessions of one key at a time (storing under another key drops the others), at most `maxSessions`
 * (oldest out), each offered until `maxAgeMs` old; `take` returns the newest and keeps it (the server accepts a
 * ticket more than once and sends none on a resumed connection); `clear` forgets everything.
 */
export class TlsSessionCache {
  readonly #max: number;
  readonly #maxAgeMs: number;
  readonly #clock: Clock;
  #key: string | undefined;
  #entries: Entry[] = [];
  #full = 0;
  #resumed = 0;
  #stored = 0;

  constructor(options: TlsSessionCacheOptions = {}) {
    this.#max = Math.max(0, Math.floor(options.maxSessions ?? 4));
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#clock = options.clock ?? systemClock;
  }

  /** The newest session stored under `key` and still young enough, if any. */
  take(key: string): Entry | undefined {
    if (key !== this.#key) return undefined;
    const oldest = this.#clock.now().getTime() - this.#maxAgeMs;
    this.#entries = this.#entries.filter((e) => e.at > oldest);
    return this.#entries.at(-1);
  }

  store(key: string, session: Buffer, chain: ServerChain | undefined): void {
    if (this.#max === 0) return;
    if (key !== this.#key) this.clear();
    this.#key = key;
    this.#entries.push({ session, chain, at: this.#clock.now().getTime() });
    if (this.#entries.length > this.#max) this.#entries.shift();
    this.#stored++;
  }

  /** Counts a connection. */
  count(resumed: boolean): void {
    if (resumed) this.#resumed++;
    else this.#full++;
  }

  clear(): void {
    this.#key = undefined;
    this.#entries = [];
  }

  get size(): number {
    return this.#entries.length;
  }

  get stats(): TlsSessionStats {
    return { full: this.#full, resumed: this.#resumed, stored: this.#stored };
  }
}

interface Material {
  readonly context: SecureContext;
  readonly key: string;
}

export interface ResumingCredentialsOptions {
  /** The client certificate and the roots the server is verified with (the current ones at each connection). */
  readonly source: CertificateSource;
  readonly target: ChannelTarget;
  readonly sessions: TlsSessionCache;
  /** Called with the server chain of each connection that verified (the original one's, when resumed). */
  readonly onServerChain?: ((chain: ServerChain) => void) | undefined;
}

/** `host` of `host:port` (`[v6]:port` too). */
function hostOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

/** Mutual-TLS channel credentials that resume sessions from a {@link TlsSessionCache} (see the module doc). */
export class ResumingCredentials extends grpc.ChannelCredentials {
  readonly #o: ResumingCredentialsOptions;
  #ca: Buffer | undefined;
  #identity: { certificate: Buffer; privateKey: Buffer } | undefined;
  #material: Material | undefined;
  #ready: (() => void)[] = [];

  constructor(options: ResumingCredentialsOptions) {
    super();
    this.#o = options;
    options.source.addCaCertificateListener((update) => {
      this.#ca = update?.caCertificate;
      this.#changed();
    });
    options.source.addIdentityCertificateListener((update) => {
      this.#identity = update ?? undefined;
      this.#changed();
    });
  }

  #changed(): void {
    this.#material = undefined;
    if (!this.#ca || !this.#identity) return;
    for (const resolve of this.#ready.splice(0)) resolve();
  }

  /** The secure context and session key of the current certificate and roots (built once per change). */
  #current(): Material | undefined {
    if (this.#material) return this.#material;
    if (!this.#ca || !this.#identity) return undefined;
    const context = createSecureContext({
      ca: this.#ca,
      cert: this.#identity.certificate,
      key: this.#identity.privateKey,
    });
    const key = sessionKey({
      serverAddress: this.#o.target.serverAddress,
      serverName: this.#o.target.serverName,
      trustBundlePem: this.#ca.toString(),
      certificatePem: this.#identity.certificate.toString(),
    });
    this.#material = { context, key };
    return this.#material;
  }

  override _isSecure(): boolean {
    return true;
  }

  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(
    ...args: Parameters<grpc.ChannelCredentials['_createSecureConnector']>
  ): grpc.experimental.SecureConnector {
    // the target and channel options are grpc-js's; the server address and name are this channel's own
    const callCredentials = args[2] ?? grpc.CallCredentials.createEmpty();
    return {
      connect: (socket) => this.#connect(socket),
      waitForReady: () =>
        this.#ca && this.#identity ? Promise.resolve() : new Promise<void>((resolve) => this.#ready.push(resolve)),
      getCallCredentials: () => callCredentials,
      destroy: () => {},
    };
  }

  #connect(socket: Parameters<grpc.experimental.SecureConnector['connect']>[0]) {
    return new Promise<grpc.experimental.SecureConnectResult>((resolve, reject) => {
      const material = this.#current();
      if (!material) {
        reject(new Error('no client certificate or trust bundle yet'));
        return;
      }
      const { sessions, target, onServerChain } = this.#o;
      const host = hostOf(target.serverAddress);
      const name = target.serverName ?? host;
      const offered = sessions.take(material.key);
      let verified: ServerChain | undefined | null = null; // null until the handshake verified
      const early: Buffer[] = [];
      const tlsSocket = tlsConnect(
        {
          socket,
          secureContext: material.context,
          host,
          ...(isIP(name) ? {} : { servername: name }),
          ALPNProtocols: ['h2'],
          // Node calls this only once the chain verified against the roots, and not on a resumed session
          checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
          ...(offered ? { session: offered.session } : {}),
        },
        () => {
          tlsSocket.removeListener('close', onClose);
          tlsSocket.removeListener('error', onError);
          if (!tlsSocket.authorized) {
            reject(tlsSocket.authorizationError);
            return;
          }
          const resumed = tlsSocket.isSessionReused();
          sessions.count(resumed);
          verified = resumed ? offered?.chain : presentedChain(tlsSocket.getPeerCertificate(true));
          for (const session of early.splice(0)) sessions.store(material.key, session, verified);
          if (verified) onServerChain?.(verified);
          resolve({ socket: tlsSocket, secure: true });
        },
      );
      // TLS 1.3 tickets come after the handshake; a TLS 1.2 session may come before the callback: kept until verified
      tlsSocket.on('session', (session: Buffer) => {
        if (verified === null) early.push(session);
        else sessions.store(material.key, session, verified);
      });
      const onClose = () => reject(new Error('socket closed during the TLS handshake'));
      const onError = (error: Error) => reject(error);
      tlsSocket.once('close', onClose);
      tlsSocket.once('error', onError);
    });
  }
}
