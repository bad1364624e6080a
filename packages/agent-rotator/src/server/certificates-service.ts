/**
 * `@certloop/agent-rotator` Certificates service: Bootstrap (token, over server-authenticated TLS) and Renew
 * (client certificate, checked by certloop on every call). Both sign a CSR for exactly the identity the caller
 * proved, with the `client` profile, whatever the CA backend would allow.
 *
 * Order of checks, cheapest first and nothing parsed before the limits: per-peer call rate, cluster name and
 * failed-attempt limits (Bootstrap: per address and cluster, and a global budget), request shape and CSR size,
 * authentication (token or client certificate), whether the certificate would be due at once (the issuance
 * window), then the CA (which verifies the CSR's signature and binds it to the identity).
 */

import { CertloopError, type Identity, type SignResult } from '@certloop/core';
import { clusterIdentity, isValidClusterName } from '../shared/names.js';
import type { BootstrapRequest, RenewRequest, SignResponse } from '../shared/proto.js';
import { asRefusal } from '../shared/status.js';
import type { ServerContext } from './context.js';
import type { ServerCall, UnaryHandler } from './grpc/server.js';
import { assertNotDueAtIssuance, requestedRatio } from './issuance-window.js';
import { tlsRefusal } from './peer-tls.js';
import { refusalStatus } from './refusal.js';

/** The Certificates service's handlers, by method name. */
export interface CertificatesHandlers {
  readonly Bootstrap: UnaryHandler<BootstrapRequest, SignResponse>;
  readonly Renew: UnaryHandler<RenewRequest, SignResponse>;
}

function toResponse(result: SignResult): SignResponse {
  return {
    certificatePem: result.certificatePem,
    chainPem: result.chainPem,
    trustBundlePem: result.trustBundlePem,
    notBeforeSeconds: Math.floor(result.notBefore.getTime() / 1000),
    notAfterSeconds: Math.floor(result.notAfter.getTime() / 1000),
    serialNumber: result.serialNumber,
  };
}

function rateLimited(what: string): CertloopError {
  return new CertloopError('CERTLOOP_RATE_LIMITED', `too many ${what} from this address`, {
    details: { scope: 'address' },
  });
}

export function checkCsrShape(ctx: ServerContext, csrPem: unknown): string {
  if (typeof csrPem !== 'string' || csrPem.length === 0) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'the request carries no CSR');
  }
  if (csrPem.length > ctx.maxCsrBytes) {
    throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', 'the CSR is larger than the server accepts', {
      details: { maxCsrBytes: ctx.maxCsrBytes },
    });
  }
  return csrPem;
}

function lifetimeOf(ctx: ServerContext, requested: unknown): number {
  const n = typeof requested === 'number' && Number.isFinite(requested) && requested > 0 ? Math.floor(requested) : 0;
  return Math.min(n || ctx.defaultLifetimeSeconds, ctx.maxLifetimeSeconds);
}

/** Signs, refusing (before and after) a certificate that would be due for renewal as soon as it is issued. */
async function sign(ctx: ServerContext, csrPem: string, lifetimeSeconds: number, identity: Identity, ratio: unknown) {
  const agentRatio = requestedRatio(ratio);
  const now = ctx.clock.now().getTime();
  const predicted = { notBefore: now - ctx.backdateSeconds * 1000, notAfter: now + lifetimeSeconds * 1000 };
  assertNotDueAtIssuance(predicted, agentRatio, now);
  const result = await ctx.authority().sign({ csrPem, lifetimeSeconds, profile: 'client', identity });
  const issued = { notBefore: result.notBefore.getTime(), notAfter: result.notAfter.getTime() };
  assertNotDueAtIssuance(issued, agentRatio, ctx.clock.now().getTime());
  // the server's own CA made this signature: its verdict is known, the agent's first call is a lookup
  if (ctx.rememberIssued) ctx.clientCheck.remember(result.certificatePem);
  return result;
}

export function certificatesService(ctx: ServerContext): CertificatesHandlers {
  const refuse = (err: unknown, peer: string, method: string): never => {
    const refusal = asRefusal(err);
    ctx.refused(refusal, { peer, method });
    throw refusalStatus(refusal);
  };

  const bootstrap = async (request: BootstrapRequest, call: ServerCall): Promise<SignResponse> => {
    const peer = call.peer;
    try {
      if (!ctx.callLimiter.take(peer)) throw rateLimited('calls');
      const { token, cluster } = request;
      if (!isValidClusterName(cluster)) {
        throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'the cluster name must be a lower-case DNS subdomain');
      }
      ctx.bootstrapLimits.admit(peer, cluster);
      const csrPem = checkCsrShape(ctx, request.csrPem);
      if (typeof token !== 'string' || token.length === 0) {
        ctx.bootstrapLimits.failed(peer, cluster);
        throw new CertloopError('CERTLOOP_TOKEN_INVALID', 'a bootstrap token is required');
      }
      let good: boolean;
      try {
        good = await ctx.tokenVerifier({ token, cluster, peer }, {});
      } catch (err) {
        throw new CertloopError('CERTLOOP_UNAVAILABLE', 'the bootstrap token could not be checked', { cause: err });
      }
      if (!good) {
        ctx.bootstrapLimits.failed(peer, cluster);
        throw new CertloopError('CERTLOOP_TOKEN_INVALID', 'the bootstrap token is not valid for this cluster');
      }
      const lifetime = lifetimeOf(ctx, request.lifetimeSeconds);
      const result = await sign(ctx, csrPem, lifetime, clusterIdentity(cluster), request.renewalRatio);
      ctx.counters.bootstraps++;
      ctx.issued(result, { peer, method: 'Bootstrap', cluster });
      return toResponse(result);
    } catch (err) {
      return refuse(err, peer, 'Bootstrap');
    }
  };

  const renew = async (request: RenewRequest, call: ServerCall): Promise<SignResponse> => {
    const peer = call.peer;
    try {
      if (!ctx.callLimiter.take(peer)) throw rateLimited('calls');
      const socket = call.socket;
      const client = await ctx.clientCheck.checkCall(call, socket, () => tlsRefusal(socket));
      const csrPem = checkCsrShape(ctx, request.csrPem);
      const lifetime = lifetimeOf(ctx, request.lifetimeSeconds);
      const result = await sign(ctx, csrPem, lifetime, client.identity, request.renewalRatio);
      ctx.counters.renewals++;
      ctx.issued(result, { peer, method: 'Renew', cluster: client.cluster });
      ctx.convergence?.renewed(client.cluster, request.trustBundleDigest ?? '');
      return toResponse(result);
    } catch (err) {
      return refuse(err, peer, 'Renew');
    }
  };

  return { Bootstrap: bootstrap, Renew: renew };
}
