/**
 * `@certloop/agent-rotator` server context: what the services share (the CA in force, the client check, the
 * limits, the counters), handed to each service by the RelayServer.
 */
import type { CertificateAuthority, CertloopError, CertloopErrorCode, Clock, SignResult } from '@certloop/core';
import type { ConvergenceHooks } from '../convergence/hooks.js';
import type { BootstrapFailureLimiter } from './bootstrap-limits.js';
import type { ClientCertificateCheck } from './client-check.js';
import type { PeerRateLimiter } from './rate-limit.js';
import type { TokenVerifier } from './token.js';

export interface RelayCounters {
  issued: number;
  bootstraps: number;
  renewals: number;
  /** Refusals by certloop error code. */
  readonly refused: Partial<Record<CertloopErrorCode, number>>;
}

export interface ServerContext {
  readonly clock: Clock;
  /** The CA in force; throws `CERTLOOP_UNAVAILABLE` when there is none. */
  authority(): CertificateAuthority;
  readonly clientCheck: ClientCertificateCheck;
  readonly tokenVerifier: TokenVerifier;
  /** Every call of a peer, checked before anything is parsed. */
  readonly callLimiter: PeerRateLimiter;
  /** Failed bootstrap attempts: per (address, cluster) and in all. */
  readonly bootstrapLimits: BootstrapFailureLimiter;
  /** Whether issued certificates' verdicts go into the client check's cache (the server's own CA signs). */
  readonly rememberIssued: boolean;
  /** How far the CA backdates notBefore (0 when unknown: an injected CA), for the issuance window. */
  readonly backdateSeconds: number;
  readonly maxCsrBytes: number;
  readonly maxLifetimeSeconds: number;
  readonly defaultLifetimeSeconds: number;
  readonly heartbeatIntervalMs: number;
  /** Serial of the server certificate being served now. */
  serverSerialNumber(): string;
  /** The roots agents should trust the server with (sent in Welcome and on change), when known. */
  agentTrustBundlePem(): string | undefined;
  readonly counters: RelayCounters;
  refused(error: CertloopError, call: { peer: string; method: string }): void;
  /** The CA rotation's view of the agents: bundle reports and renew-now (absent: nothing is recorded). */
  readonly convergence?: ConvergenceHooks;
  issued(result: SignResult, call: { peer: string; method: string; cluster: string }): void;
}
