/**
 * `@certloop/agent-rotator`: the certloop relay over gRPC with mutual TLS. `RelayServer` signs agents' CSRs
 * (token bootstrap, renewal with the current client certificate) and serves a hot-reloaded certificate;
 * `RelayAgent` keeps one cluster's client certificate renewed (leader-elected) and its relay stream open.
 */
export {
  type ConnectionEvent,
  type ConnectionState,
  RelayConnection,
  type RelayConnectionOptions,
} from './agent/connection.js';
export type { HaltReason } from './agent/halt.js';
export { IssuerDrain } from './agent/issuer-drain.js';
export {
  RelayAgent,
  type RelayAgentEvent,
  type RelayAgentOptions,
  type RelayAgentStatus,
} from './agent/relay-agent.js';
export { RelayCaClient, type RelayCaClientOptions, type SignPath } from './agent/relay-ca-client.js';
export {
  type BundleEntry,
  type BundleReport,
  BundleTable,
  type BundleTableOptions,
  clusterObservations,
  MIXED_DIGEST_PREFIX,
} from './convergence/bundle-table.js';
export {
  BUNDLE_TABLE_LABEL,
  BUNDLE_TABLE_PREFIX,
  BundleTablePublisher,
  type BundleTablePublisherOptions,
  type BundleTableSnapshot,
  bundleTableSecretName,
  decodeSnapshot,
  encodeSnapshot,
  mergeSnapshots,
  StoreConvergenceSource,
  type StoreConvergenceSourceOptions,
} from './convergence/published-table.js';
export {
  RENEWAL_REQUEST_SECRET,
  RenewalBroadcast,
  renewalRequestOf,
  type StoredRenewalRequest,
  StoreRenewalRequester,
  type StoreRenewalRequesterOptions,
} from './convergence/renewal.js';
export type { ConvergenceEvent, ServerConvergenceOptions } from './convergence/server-convergence.js';
export { BootstrapFailureLimiter, type BootstrapLimitOptions } from './server/bootstrap-limits.js';
export { type CheckedClient, ClientCertificateCheck, type ClientCheckOptions } from './server/client-check.js';
export {
  PeerRateLimiter,
  type PeerRateLimiterOptions,
  peerAddress,
  type RateLimitOptions,
} from './server/rate-limit.js';
export {
  RelayServer,
  type RelayServerEvent,
  type RelayServerMetrics,
  type RelayServerOptions,
} from './server/relay-server.js';
export type { ConnectedAgent } from './server/relay-service.js';
export {
  forkRelayReplicas,
  REPLICA_INDEX_ENV,
  type RelayReplicas,
  type RelayReplicasOptions,
  replicaIndex,
} from './server/replicas.js';
export type { SigningKeyResolver } from './server/signing-authority.js';
export {
  perClusterTokenVerifier,
  sharedTokenVerifier,
  type TokenCheckRequest,
  type TokenVerifier,
  tokensEqual,
} from './server/token.js';
export { CertificateSource, type CertificateSourceOptions } from './shared/certificate-source.js';
export { assertClusterName, clusterIdentity, isValidClusterName } from './shared/names.js';
export { RELAY_PROTO_PATH, relayProtoFile } from './shared/proto.js';
export { ERROR_CODE_TRAILER, fromServiceError, statusForCode } from './shared/status.js';
