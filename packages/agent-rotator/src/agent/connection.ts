/**
 * `@certloop/agent-rotator` RelayConnection: the agent's long-lived `Relay.Connect` stream over mutual TLS.
 *
 * It connects with the provider's current certificate and, when the stream drops, reconnects (with backoff) with
 * whatever is current then. An established stream outlives its certificate's expiry; a reconnect with an expired
 * certificate is not attempted and is reported (`connect-failed`, `CERTLOOP_CHAIN_EXPIRED`) until a valid one
 * arrives.
 *
 * With a {@link MutualChannel} (as `RelayAgent` runs it), the stream rides the agent's one mutual-TLS connection,
 * shared with its renewals: a swapped certificate leaves the open stream and its connection alone (an established
 * connection stays valid; the next handshake takes the new certificate), and the stream moves (make before break)
 * only when the channel is refreshed. A stream refused for the connection's certificate while a newer one is in
 * force refreshes the channel. Without a channel, each stream has a connection of its own, and a swapped
 * certificate opens a new stream with it, closing the old one once the new one is welcomed (make before break).
 */

import {
  type BackoffOptions,
  backoffDelay,
  CertloopError,
  type Clock,
  type CredentialProvider,
  Emitter,
  systemClock,
  type TimerHandle,
} from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { CertificateSource } from '../shared/certificate-source.js';
import type { AgentMessage, ServerMessage } from '../shared/proto.js';
import { fromServiceError } from '../shared/status.js';
import { type ChannelTarget, mutualCredentials, relayClient } from './channel.js';
import type { Lease, MutualChannel } from './mutual-channel.js';

export interface RelayConnectionOptions extends ChannelTarget {
  readonly cluster: string;
  /** Free text sent in Hello (replica name, version). */
  readonly agent?: string;
  /** The agent's client certificate. */
  readonly provider: CredentialProvider;
  /** The roots that authenticate the server. */
  readonly trustBundlePem: () => string | undefined;
  /**
   * Digest of the trust bundle the agent holds (core's `trustBundleDigest`), sent in Hello and heartbeats for a CA
   * rotation's convergence check; `reportBundle()` sends it at once when it changes. Absent: not reported.
   */
  readonly bundleDigest?: () => string;
  /** How often the agent sends a heartbeat (default 30 s). */
  readonly heartbeatIntervalMs?: number;
  /** Reconnect backoff (default 500 ms doubling to 30 s). */
  readonly backoff?: BackoffOptions;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** The agent's one mutual-TLS connection, shared with its renewals (see the module doc). */
  readonly channel?: MutualChannel | undefined;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export type ConnectionEvent =
  | {
      readonly type: 'connected';
      readonly clientSerialNumber: string;
      readonly serverSerialNumber: string;
      readonly reconnect: boolean;
    }
  | { readonly type: 'disconnected'; readonly clientSerialNumber: string; readonly error: CertloopError | undefined }
  | { readonly type: 'connect-failed'; readonly attempt: number; readonly error: CertloopError; readonly retryAt: Date }
  | { readonly type: 'heartbeat'; readonly sequence: number }
  | {
      /** The server asked agents whose certificate another CA issued to renew now (a CA rotation's drain). */
      readonly type: 'renew-now';
      readonly reason: string;
      readonly activeIssuerKeyId: string;
    }
  | {
      /** The server sent the roots agents should trust it with (in Welcome, or because they changed). */
      readonly type: 'trust-bundle-offered';
      readonly trustBundlePem: string;
    };

interface Attempt {
  /** Its own client and source (no channel), or a lease on the shared channel. */
  readonly client: grpc.Client | undefined;
  readonly source: CertificateSource | undefined;
  readonly lease: Lease | undefined;
  readonly stream: grpc.ClientDuplexStream<AgentMessage, ServerMessage>;
  readonly version: string;
  /** The client certificate's serial (on a shared channel: as the server saw it in Welcome). */
  serialNumber: string;
  welcomed: boolean;
  closed: boolean;
  heartbeat: TimerHandle | undefined;
  sequence: number;
}

export class RelayConnection {
  readonly #o: RelayConnectionOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #events = new Emitter<ConnectionEvent>();
  #state: ConnectionState = 'idle';
  #current: Attempt | undefined;
  #pending: Attempt | undefined;
  #failures = 0;
  #retry: TimerHandle | undefined;
  #everConnected = false;
  #serverSerial: string | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: RelayConnectionOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
  }

  subscribe(listener: (event: ConnectionEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The serials of the open stream, when connected. */
  get connection(): { clientSerialNumber: string; serverSerialNumber: string | undefined } | undefined {
    const c = this.#current;
    return c?.welcomed ? { clientSerialNumber: c.serialNumber, serverSerialNumber: this.#serverSerial } : undefined;
  }

  /** Starts connecting (idempotent); follows the provider's swaps. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'connecting';
    const channel = this.#o.channel;
    const offRefresh = channel?.onRefresh((generation) => {
      if (this.#state === 'stopped') return;
      // move to the new connection unless already there
      const on = this.#pending?.lease ?? this.#current?.lease;
      if (on && on.generation >= generation) return;
      this.#cancelRetry();
      this.#open();
    });
    const offProvider = this.#o.provider.subscribe((event) => {
      if (event.type !== 'updated' || this.#state === 'stopped') return;
      // on the shared connection, a new certificate leaves an open stream alone
      if (channel && (this.#current?.welcomed || this.#pending)) return;
      if (this.#current?.version === event.material.version || this.#pending?.version === event.material.version) {
        return;
      }
      this.#cancelRetry();
      this.#open();
    });
    this.#unsubscribe = () => {
      offRefresh?.();
      offProvider();
    };
    this.#open();
  }

  #cancelRetry(): void {
    if (this.#retry) this.#clock.clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #open(): void {
    if (this.#state === 'stopped') return;
    const material = this.#o.provider.current();
    if (!material) {
      // nothing to connect with yet: the provider's first update opens the stream
      this.#state = this.#current?.welcomed ? 'connected' : 'connecting';
      return;
    }
    const now = this.#clock.now().getTime();
    if (now >= material.leaf.notAfter.getTime()) {
      this.#failed(
        new CertloopError('CERTLOOP_CHAIN_EXPIRED', 'the client certificate has expired: not reconnecting with it', {
          details: { serialNumber: material.leaf.serialNumber },
        }),
      );
      return;
    }
    const trust = this.#o.trustBundlePem();
    if (!trust) {
      this.#failed(new CertloopError('CERTLOOP_UNAVAILABLE', 'no trust bundle for the relay server yet'));
      return;
    }
    if (this.#pending) this.#close(this.#pending);
    let client: grpc.Client | undefined;
    let source: CertificateSource | undefined;
    let lease: Lease | undefined;
    if (this.#o.channel) {
      try {
        lease = this.#o.channel.acquire();
      } catch (err) {
        this.#failed(fromServiceError(err));
        return;
      }
    } else {
      source = new CertificateSource({ trustBundlePem: trust });
      source.setMaterial(material);
      client = relayClient(this.#o, mutualCredentials(source));
    }
    const stream = ((lease?.relay ?? client) as unknown as { Connect(): Attempt['stream'] }).Connect();
    const attempt: Attempt = {
      client,
      lease,
      stream,
      source,
      version: material.version,
      serialNumber: material.leaf.serialNumber,
      welcomed: false,
      closed: false,
      heartbeat: undefined,
      sequence: 0,
    };
    this.#pending = attempt;
    if (!this.#current?.welcomed) this.#state = 'connecting';
    stream.on('data', (message: ServerMessage) => this.#onMessage(attempt, message));
    stream.on('error', (err) => this.#onEnd(attempt, fromServiceError(err)));
    stream.on('end', () => this.#onEnd(attempt, undefined));
    stream.write({
      hello: { cluster: this.#o.cluster, agent: this.#o.agent ?? '', trustBundleDigest: this.#digest() },
    });
  }

  #onMessage(attempt: Attempt, message: ServerMessage): void {
    if (attempt.closed) return;
    if (message.welcome && !attempt.welcomed) {
      attempt.welcomed = true;
      if (attempt.lease && message.welcome.clientSerialNumber)
        attempt.serialNumber = message.welcome.clientSerialNumber;
      this.#serverSerial = message.welcome.serverSerialNumber;
      if (attempt.lease) this.#o.channel?.noteServerSerial(message.welcome.serverSerialNumber);
      const previous = this.#current;
      this.#current = attempt;
      if (this.#pending === attempt) this.#pending = undefined;
      if (previous && previous !== attempt) this.#close(previous);
      this.#failures = 0;
      this.#state = 'connected';
      this.#beat(attempt);
      this.#events.emit({
        type: 'connected',
        clientSerialNumber: attempt.serialNumber,
        serverSerialNumber: message.welcome.serverSerialNumber,
        reconnect: this.#everConnected,
      });
      this.#everConnected = true;
      const offered = message.welcome.trustBundlePem;
      if (offered) this.#events.emit({ type: 'trust-bundle-offered', trustBundlePem: offered });
    } else if (message.trustBundle?.trustBundlePem && attempt === this.#current) {
      this.#events.emit({ type: 'trust-bundle-offered', trustBundlePem: message.trustBundle.trustBundlePem });
    } else if (message.heartbeat) {
      this.#events.emit({ type: 'heartbeat', sequence: Number(message.heartbeat.sequence) });
    } else if (message.renewNow) {
      this.#events.emit({
        type: 'renew-now',
        reason: message.renewNow.reason,
        activeIssuerKeyId: message.renewNow.activeIssuerKeyId,
      });
    }
  }

  #beat(attempt: Attempt): void {
    attempt.heartbeat = this.#clock.setTimeout(() => {
      if (attempt.closed) return;
      attempt.stream.write({
        heartbeat: {
          sequence: ++attempt.sequence,
          sentAtMs: this.#clock.now().getTime(),
          trustBundleDigest: this.#digest(),
        },
      });
      this.#beat(attempt);
    }, this.#o.heartbeatIntervalMs ?? 30_000);
  }

  #onEnd(attempt: Attempt, error: CertloopError | undefined): void {
    if (attempt.closed) return;
    this.#close(attempt);
    if (this.#state === 'stopped') return;
    const channel = this.#o.channel;
    if (
      channel &&
      attempt.lease &&
      error?.details?.grpcStatus === grpc.status.UNAUTHENTICATED &&
      attempt.lease.generation === channel.generation &&
      channel.mayBeBehind()
    ) {
      // refused for the connection's (older) certificate: a connection with the current one is the cure; the
      // refresh reopens the stream on it (onRefresh)
      channel.refresh();
      if (channel.generation !== attempt.lease.generation) {
        if (attempt === this.#current) {
          this.#current = undefined;
          this.#events.emit({ type: 'disconnected', clientSerialNumber: attempt.serialNumber, error });
          this.#state = 'connecting';
        }
        return;
      }
    }
    if (attempt === this.#current) {
      this.#current = undefined;
      this.#events.emit({ type: 'disconnected', clientSerialNumber: attempt.serialNumber, error });
      if (!this.#pending) this.#failed(error ?? new CertloopError('CERTLOOP_UNAVAILABLE', 'the relay stream ended'));
    } else if (attempt === this.#pending) {
      this.#pending = undefined;
      // a failed switch keeps the established stream; retry later
      this.#failed(error ?? new CertloopError('CERTLOOP_UNAVAILABLE', 'the relay stream ended before Welcome'));
    }
  }

  #failed(error: CertloopError): void {
    if (this.#state === 'stopped') return;
    this.#failures++;
    const delay = backoffDelay(this.#failures, { initialMs: 500, maxMs: 30_000, ...this.#o.backoff }, this.#random);
    this.#events.emit({
      type: 'connect-failed',
      attempt: this.#failures,
      error,
      retryAt: new Date(this.#clock.now().getTime() + delay),
    });
    if (!this.#current?.welcomed) this.#state = 'backoff';
    this.#cancelRetry();
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = undefined;
      if (!this.#pending) this.#open();
    }, delay);
  }

  #close(attempt: Attempt): void {
    if (attempt.closed) return;
    attempt.closed = true;
    if (attempt.heartbeat) this.#clock.clearTimeout(attempt.heartbeat);
    attempt.stream.cancel();
    attempt.client?.close();
    attempt.source?.close();
    attempt.lease?.release();
  }

  #digest(): string {
    try {
      return this.#o.bundleDigest?.() ?? '';
    } catch {
      return '';
    }
  }

  /** Sends the trust bundle's digest now on the open stream (the bundle changed); a no-op when not connected. */
  reportBundle(): void {
    const c = this.#current;
    if (!c?.welcomed || c.closed) return;
    const digest = this.#digest();
    if (digest) c.stream.write({ bundleReport: { trustBundleDigest: digest } });
  }

  /** Closes the stream and stops reconnecting. Idempotent. */
  stop(): void {
    this.#state = 'stopped';
    this.#unsubscribe?.();
    this.#cancelRetry();
    if (this.#pending) this.#close(this.#pending);
    if (this.#current) this.#close(this.#current);
    this.#pending = undefined;
    this.#current = undefined;
  }
}
