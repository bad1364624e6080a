/**
 * `@certloop/agent-rotator` agent channels: gRPC clients of the relay's services over TLS, either server-
 * authenticated only (Bootstrap) or mutual, with the client certificate taken from a `CertificateSource` at each
 * new connection.
 */
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { pemEncode } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import type { CertificateSource } from '../shared/certificate-source.js';
import { relayProtocol } from '../shared/proto.js';

export interface ChannelTarget {
  /** `host:port` of the relay server. */
  readonly serverAddress: string;
  /** The name the server certificate must carry, when it differs from the address's host. */
  readonly serverName?: string | undefined;
}

/** Options of every agent channel. */
export function channelOptions(target: ChannelTarget): grpc.ChannelOptions {
  return {
    ...(target.serverName ? { 'grpc.ssl_target_name_override': target.serverName } : {}),
    // each agent channel is its own connection: never share a subchannel between identities
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 1024 * 1024,
    'grpc.enable_channelz': 0,
  };
}

/** A Certificates client over server-authenticated TLS (no client certificate). */
export function bootstrapClient(target: ChannelTarget, trustBundlePem: string): grpc.Client {
  const credentials = grpc.credentials.createSsl(Buffer.from(trustBundlePem));
  return new (relayProtocol().Certificates)(target.serverAddress, credentials, channelOptions(target));
}

/** The certificates a server presented in an authenticated handshake: its leaf, then what it sent after it. */
export interface ServerChain {
  readonly leafPem: string;
  readonly intermediatesPem: string | undefined;
}

/** At most this many certificates are taken from a presented chain. */
const MAX_PRESENTED = 8;

/** The presented chain of a verified handshake's peer certificate (Node's `getPeerCertificate(true)`). */
export function presentedChain(cert: PeerCertificate): ServerChain | undefined {
  if (!cert?.raw) return undefined;
  const rest: string[] = [];
  let next = (cert as DetailedPeerCertificate).issuerCertificate;
  let previous: PeerCertificate = cert;
  while (next?.raw && next !== previous && rest.length < MAX_PRESENTED && !next.raw.equals(previous.raw)) {
    rest.push(pemEncode('CERTIFICATE', next.raw));
    previous = next;
    next = (next as DetailedPeerCertificate).issuerCertificate;
  }
  return {
    leafPem: pemEncode('CERTIFICATE', cert.raw),
    intermediatesPem: rest.length ? rest.join('') : undefined,
  };
}

/** Mutual-TLS credentials whose client certificate is the source's current one at every handshake. */
export function mutualCredentials(source: CertificateSource): grpc.ChannelCredentials {
  return grpc.experimental.createCertificateProviderChannelCredentials(source, source);
}

export function certificatesClient(target: ChannelTarget, credentials: grpc.ChannelCredentials): grpc.Client {
  return new (relayProtocol().Certificates)(target.serverAddress, credentials, channelOptions(target));
}

export function relayClient(target: ChannelTarget, credentials: grpc.ChannelCredentials): grpc.Client {
  return new (relayProtocol().Relay)(target.serverAddress, credentials, channelOptions(target));
}

/** Calls a unary method, with the abort signal cancelling the call. */
export function unary<Req, Res>(client: grpc.Client, method: string, request: Req, signal?: AbortSignal): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    type UnaryMethod = (
      this: grpc.Client,
      request: Req,
      callback: (err: grpc.ServiceError | null, res: Res) => void,
    ) => grpc.ClientUnaryCall;
    const fn = (client as unknown as Record<string, UnaryMethod>)[method]!;
    const call = fn.call(client, request, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    );
    if (signal) {
      if (signal.aborted) call.cancel();
      else signal.addEventListener('abort', () => call.cancel(), { once: true });
    }
  });
}
