/**
 * `@certloop/agent-rotator` names: the relay's secret names (core's layout, configurable) and the identity a
 * cluster name stands for.
 */
import { CertloopError, DEFAULT_RELAY_SECRET_NAMES, type Identity, type RelaySecretNames } from '@certloop/core';

export function resolveRelayNames(names: Partial<RelaySecretNames> | undefined): RelaySecretNames {
  return { ...DEFAULT_RELAY_SECRET_NAMES, ...names };
}

// A DNS subdomain (RFC 1123), as Kubernetes names clusters and secrets.
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidClusterName(cluster: unknown): cluster is string {
  return typeof cluster === 'string' && cluster.length <= 253 && CLUSTER_NAME.test(cluster);
}

/** Throws `CERTLOOP_INVALID_ARGUMENT` unless `cluster` is a lower-case DNS subdomain of at most 253 characters. */
export function assertClusterName(cluster: unknown): asserts cluster is string {
  if (!isValidClusterName(cluster)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'the cluster name must be a lower-case DNS subdomain');
  }
}

/**
 * The identity a cluster name grants: CN equal to the cluster, and at most the cluster as DNS SAN. An agent's
 * certificate names exactly this.
 */
export function clusterIdentity(cluster: string): Identity {
  return { commonName: cluster, dnsNames: [cluster] };
}
