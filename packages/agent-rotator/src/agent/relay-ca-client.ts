/**
 * `@certloop/agent-rotator` RelayCaClient: core's `CertificateAuthority` over the relay's Certificates service, so
 * core's `Rotator` renews through it unchanged.
 *
 * `sign` sends the CSR with `Renew` over mutual TLS when the agent holds a client certificate valid now (its
 * identity is that certificate's), and with `Bootstrap` and the token otherwise (no certificate yet, or one that
 * expired while the agent was down). The private key never leaves the agent; the server decides the identity and
 * profile. Refusals reject with the certloop code the server put in the trailer.
 */

import {
  type CaCallOptions,
  type CertificateAuthority,
  CertloopError,
  type Clock,
  type CredentialProvider,
  type SignRequest,
  type SignResult,
  systemClock,
  throwIfAborted,
} from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { CertificateSource } from '../shared/certificate-source.js';
import { assertClusterName } from '../shared/names.js';
import type { BootstrapRequest, RenewRequest, SignResponse } from '../shared/proto.js';
import { fromServiceError } from '../shared/status.js';
import { bootstrapClient, type ChannelTarget, certificatesClient, mutualCredentials, unary } from './channel.js';
import type { MutualChannel } from './mutual-channel.js';

export interface RelayCaClientOptions extends ChannelTarget {
  /** The agent's cluster name: the identity a bootstrap asks for. */
  readonly cluster: string;
  /** The roots that authenticate the server (`ca.crt` of `relay-root-tls-secret`). */
  readonly trustBundlePem: string | (() => string | undefined);
  /** The agent's current client certificate (renewals authenticate with it). */
  readonly provider?: CredentialProvider;
  /** The bootstrap token, read when a bootstrap is needed; undefined when there is none. */
  readonly token?: () => string | undefined | Promise<string | undefined>;
  readonly clock?: Clock;
  /** Deadline of one call (default 30 s). */
  readonly callTimeoutMs?: number | undefined;
  /**
   * The agent's grace ratio, sent with each request so the server can refuse a certificate that would be due for
   * renewal at once (`CERTLOOP_LIFETIME_TOO_SHORT`) instead of issuing it.
   */
  readonly ratio?: number | undefined;
  /**
   * The agent's one mutual-TLS connection (shared with its relay stream). Without it, renewals open a connection of
   * their own per certificate.
   */
  readonly channel?: MutualChannel | undefined;
  /** Digest of the trust bundle the agent holds, sent with every Renew (a CA rotation's convergence check). */
  readonly bundleDigest?: () => string;
}

/**
 * Refusals of a Renew that mean the server no longer trusts the client certificate's CA (it was retired while the
 * agent was away): with a token, the agent recovers by bootstrapping.
 */
export const UNTRUSTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'CERTLOOP_UNAUTHENTICATED',
  'CERTLOOP_CHAIN_UNTRUSTED',
]);

export type SignPath = 'renew' | 'bootstrap';

export class RelayCaClient implements CertificateAuthority {
  readonly #o: RelayCaClientOptions;
  readonly #clock: Clock;
  #source: CertificateSource | undefined;
  #mutual: grpc.Client | undefined;
  #mutualTrust: string | undefined;
  #mutualVersion: string | undefined;
  #revokedSerial: string | undefined;
  /** How the last `sign` went (or failed): `renew` or `bootstrap`. */
  lastPath: SignPath | undefined;

  constructor(options: RelayCaClientOptions) {
    assertClusterName(options.cluster);
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  #trust(): string {
    const t = this.#o.trustBundlePem;
    const pem = typeof t === 'function' ? t() : t;
    if (!pem) throw new CertloopError('CERTLOOP_UNAVAILABLE', 'no trust bundle for the relay server yet');
    return pem;
  }

  /** Which path a sign would take now. */
  path(): SignPath {
    const material = this.#o.provider?.current();
    const now = this.#clock.now().getTime();
    return material &&
      material.leaf.serialNumber !== this.#revokedSerial &&
      material.leaf.notBefore.getTime() <= now &&
      now < material.leaf.notAfter.getTime()
      ? 'renew'
      : 'bootstrap';
  }

  /** Says the certificate with this serial was revoked: it no longer authenticates a renewal (bootstrap instead). */
  setRevoked(serialNumber: string | undefined): void {
    this.#revokedSerial = serialNumber;
  }

  async sign(request: SignRequest, options: CaCallOptions = {}): Promise<SignResult> {
    throwIfAborted(options.signal);
    const signal = this.#withTimeout(options.signal);
    let path = this.path();
    // the path this sign takes (a failed one reports the path it failed on; a fallback to bootstrap updates it)
    this.lastPath = path;
    let response: SignResponse;
    try {
      if (path === 'renew') {
        const body: RenewRequest = {
          csrPem: request.csrPem,
          lifetimeSeconds: request.lifetimeSeconds,
          trustBundleDigest: this.#o.bundleDigest?.() ?? '',
          renewalRatio: this.#o.ratio ?? 0,
        };
        try {
          response = this.#o.channel
            ? await this.#renewOver(this.#o.channel, body, signal)
            : await unary<RenewRequest, SignResponse>(this.#mutualClient(), 'Renew', body, signal);
        } catch (err) {
          const refusal = fromServiceError(err);
          const token = UNTRUSTED_CERTIFICATE.has(refusal.code) ? await this.#o.token?.() : undefined;
          if (!token) throw refusal;
          response = await this.#bootstrap(request, token, signal);
          path = 'bootstrap';
          this.lastPath = path;
        }
      } else {
        const token = await this.#o.token?.();
        if (!token) {
          throw new CertloopError('CERTLOOP_TOKEN_INVALID', 'no client certificate and no bootstrap token to get one');
        }
        response = await this.#bootstrap(request, token, signal);
      }
    } catch (err) {
      throw fromServiceError(err);
    }
    return {
      certificatePem: response.certificatePem,
      chainPem: response.chainPem,
      trustBundlePem: response.trustBundlePem,
      notBefore: new Date(Number(response.notBeforeSeconds) * 1000),
      notAfter: new Date(Number(response.notAfterSeconds) * 1000),
      serialNumber: response.serialNumber,
    };
  }

  async #bootstrap(request: SignRequest, token: string, signal: AbortSignal): Promise<SignResponse> {
    const body: BootstrapRequest = {
      token,
      cluster: this.#o.cluster,
      csrPem: request.csrPem,
      lifetimeSeconds: request.lifetimeSeconds,
      renewalRatio: this.#o.ratio ?? 0,
    };
    const client = bootstrapClient(this.#o, this.#trust());
    try {
      return await unary<BootstrapRequest, SignResponse>(client, 'Bootstrap', body, signal);
    } finally {
      client.close();
    }
  }

  /**
   * Renew over the shared connection. When the server refuses the connection's certificate (UNAUTHENTICATED) and the
   * connection was opened before the current certificate, it is replaced by one with the current certificate and
   * the call made once more.
   */
  async #renewOver(channel: MutualChannel, body: RenewRequest, signal: AbortSignal): Promise<SignResponse> {
    const call = async () => {
      const lease = channel.acquire();
      try {
        return await unary<RenewRequest, SignResponse>(lease.certificates, 'Renew', body, signal);
      } finally {
        lease.release();
      }
    };
    try {
      return await call();
    } catch (err) {
      const refusal = fromServiceError(err);
      if (refusal.details?.grpcStatus !== grpc.status.UNAUTHENTICATED || !channel.mayBeBehind()) throw err;
      channel.refresh();
      return await call();
    }
  }

  async trustBundle(options: CaCallOptions = {}): Promise<string> {
    throwIfAborted(options.signal);
    return this.#trust();
  }

  #withTimeout(signal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.#o.callTimeoutMs ?? 30_000);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }

  #mutualClient(): grpc.Client {
    const trust = this.#trust();
    // a new certificate gets a new channel: a renewal never rides a connection opened with an older certificate
    const version = this.#o.provider?.current()?.version;
    if (!this.#mutual || this.#mutualTrust !== trust || this.#mutualVersion !== version) {
      this.#mutual?.close();
      this.#source?.close();
      this.#source = new CertificateSource({ provider: this.#o.provider, trustBundlePem: trust });
      this.#mutual = certificatesClient(this.#o, mutualCredentials(this.#source));
      this.#mutualTrust = trust;
      this.#mutualVersion = version;
    }
    return this.#mutual;
  }

  /** Closes the client's channels. */
  close(): void {
    this.#mutual?.close();
    this.#mutual = undefined;
    this.#source?.close();
    this.#source = undefined;
  }
}
