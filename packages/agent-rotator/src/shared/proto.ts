/**
 * `@certloop/agent-rotator` protocol loading: the shipped `proto/certloop/relay/v1/relay.proto`, read at run time
 * with `@grpc/proto-loader`, and the message types as TypeScript sees them (proto-loader's camelCase, `longs` as
 * numbers, defaults filled in).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CertloopError } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The `.proto` path inside the package. */
export const RELAY_PROTO_PATH = 'proto/certloop/relay/v1/relay.proto';

export interface BootstrapRequest {
  token: string;
  cluster: string;
  csrPem: string;
  lifetimeSeconds: number;
  /** The agent's grace ratio (0: not said). */
  renewalRatio?: number;
}

export interface RenewRequest {
  csrPem: string;
  lifetimeSeconds: number;
  /** Digest of the trust bundle the agent holds (`trustBundleDigest`); empty or absent when it does not say. */
  trustBundleDigest?: string;
  /** The agent's grace ratio (0: not said). */
  renewalRatio?: number;
}

export interface SignResponse {
  certificatePem: string;
  chainPem: string;
  trustBundlePem: string;
  notBeforeSeconds: number;
  notAfterSeconds: number;
  serialNumber: string;
}

export interface Heartbeat {
  sequence: number;
  sentAtMs: number;
  trustBundleDigest?: string;
}

export interface Hello {
  cluster: string;
  agent: string;
  trustBundleDigest?: string;
}

export interface BundleReport {
  trustBundleDigest: string;
}

export interface RenewNow {
  reason: string;
  activeIssuerKeyId: string;
}

export interface Welcome {
  cluster: string;
  clientSerialNumber: string;
  serverSerialNumber: string;
  heartbeatIntervalMs: number;
  /** The roots agents should trust the server with (PEM); empty when the server does not say. */
  trustBundlePem?: string;
}

export interface TrustBundle {
  trustBundlePem: string;
}

export type AgentMessage = {
  hello?: Hello;
  heartbeat?: Heartbeat;
  bundleReport?: BundleReport;
  kind?: 'hello' | 'heartbeat' | 'bundleReport';
};
export type ServerMessage = {
  welcome?: Welcome;
  heartbeat?: Heartbeat;
  renewNow?: RenewNow;
  trustBundle?: TrustBundle;
  kind?: 'welcome' | 'heartbeat' | 'renewNow' | 'trustBundle';
};

export interface RelayProtocol {
  readonly Certificates: grpc.ServiceClientConstructor;
  readonly Relay: grpc.ServiceClientConstructor;
}

/** Finds the shipped `.proto` from this module, whether it runs from `src/shared/` or from `dist/`. */
export function relayProtoFile(): string {
  for (const up of ['../../', '../', '../../../']) {
    const candidate = fileURLToPath(new URL(`${up}${RELAY_PROTO_PATH}`, import.meta.url));
    if (existsSync(candidate)) return candidate;
  }
  throw new CertloopError('CERTLOOP_NOT_FOUND', `the relay protocol file ${RELAY_PROTO_PATH} is missing`);
}

let loaded: RelayProtocol | undefined;
let definition: protoLoader.PackageDefinition | undefined;

/**
 * The relay's methods as `@grpc/proto-loader` reads the shipped `.proto` (loaded once, on first use): each with its
 * path and protobuf encoders and decoders (camelCase fields, `longs` as numbers, defaults filled in, `oneofs`).
 */
export function relayDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(relayProtoFile(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return definition;
}

/** One method of the relay's `.proto` (`service`: `Certificates` or `Relay`). */
export function relayMethod(
  service: 'Certificates' | 'Relay',
  method: string,
): protoLoader.MethodDefinition<object, object> {
  const found = (relayDefinition()[`certloop.relay.v1.${service}`] as protoLoader.ServiceDefinition | undefined)?.[
    method
  ];
  if (!found) throw new CertloopError('CERTLOOP_NOT_FOUND', `the relay protocol has no ${service}.${method}`);
  return found as protoLoader.MethodDefinition<object, object>;
}

/** The relay's service definitions for grpc-js clients (loaded once, on first use: no import-time side effects). */
export function relayProtocol(): RelayProtocol {
  if (loaded) return loaded;
  const root = grpc.loadPackageDefinition(relayDefinition()) as unknown as {
    certloop: { relay: { v1: RelayProtocol } };
  };
  loaded = root.certloop.relay.v1;
  return loaded;
}
