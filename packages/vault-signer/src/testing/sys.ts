/**
 * `@certloop/vault-signer/testing` internal: `sys/…` (contract sections 5 and 6): mounts, auth methods, seal,
 * unseal, seal-status and health with its codes and query overrides.
 */
import { parseDuration } from './duration.js';
import { badRequest, noContent, ok, type VaultReply } from './http.js';
import { routePolicies } from './policies.js';
import { expectOperation, type RequestContext, stringField, unsupportedPath } from './router.js';
import type { EmulatorState } from './state.js';

const trimSlashes = (p: string) => p.replace(/^\/+|\/+$/g, '');

function sealStatus(state: EmulatorState): Record<string, unknown> {
  return {
    type: 'shamir',
    initialized: true,
    sealed: state.sealed,
    t: 1,
    n: 1,
    progress: 0,
    nonce: '',
    version: state.version,
    build_date: '2026-01-01T00:00:00Z',
    migration: false,
    recovery_seal: false,
    storage_type: 'inmem',
    ...(state.sealed ? {} : { cluster_name: 'vault-cluster-emulator', cluster_id: 'emulator' }),
  };
}

/** GET or HEAD `sys/health`: body and status, honouring `standbyok`, `sealedcode`, `activecode`… */
export function health(
  state: EmulatorState,
  query: URLSearchParams,
): { status: number; body: Record<string, unknown> } {
  const code = (name: string, fallback: number) => {
    const value = query.get(name);
    return value && /^\d+$/.test(value) ? Number(value) : fallback;
  };
  const status = state.sealed ? code('sealedcode', 503) : code('activecode', 200);
  const body: Record<string, unknown> = {
    initialized: true,
    sealed: state.sealed,
    standby: false,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(state.clock.now().getTime() / 1000),
    version: state.version,
    ...(state.sealed ? {} : { cluster_name: 'vault-cluster-emulator', cluster_id: 'emulator' }),
  };
  return { status, body };
}

export function routeSys(ctx: RequestContext, path: string): VaultReply {
  const { state } = ctx;
  const rest = path.slice('sys/'.length);
  if (rest === 'seal-status') {
    expectOperation(ctx, 'GET');
    return { kind: 'bare', body: sealStatus(state) };
  }
  if (rest === 'unseal') {
    expectOperation(ctx, 'WRITE');
    if (ctx.body.reset === true) return { kind: 'bare', body: sealStatus(state) };
    const key = stringField(ctx.body, 'key');
    if (!key) throw badRequest('missing required parameter: key');
    if (key !== state.unsealKey) throw badRequest('Error unsealing: cipher: message authentication failed');
    state.sealed = false;
    return { kind: 'bare', body: sealStatus(state) };
  }
  if (rest === 'seal') {
    expectOperation(ctx, 'WRITE');
    state.sealed = true;
    return noContent();
  }
  if (rest.startsWith('mounts/')) {
    expectOperation(ctx, 'WRITE', 'DELETE');
    const mountPath = trimSlashes(rest.slice('mounts/'.length));
    if (ctx.operation === 'DELETE') {
      state.mounts.delete(mountPath);
      return noContent();
    }
    if (state.mounts.has(mountPath)) throw badRequest(`path is already in use at ${mountPath}/`);
    const type = stringField(ctx.body, 'type');
    if (type !== 'pki') throw badRequest(`plugin not found in the catalog: ${type ?? ''}`);
    const config = (ctx.body.config ?? {}) as Record<string, unknown>;
    state.mounts.set(mountPath, {
      path: mountPath,
      defaultLeaseTtl: parseDuration(config.default_lease_ttl, 'default_lease_ttl'),
      maxLeaseTtl: parseDuration(config.max_lease_ttl, 'max_lease_ttl'),
      issuers: new Map(),
      keys: new Map(),
      defaultIssuer: undefined,
      defaultKey: undefined,
      defaultFollowsLatestIssuer: false,
      chains: new Map(),
      roles: new Map(),
    });
    return noContent();
  }
  if (rest.startsWith('auth/')) {
    expectOperation(ctx, 'WRITE', 'DELETE');
    const authPath = trimSlashes(rest.slice('auth/'.length));
    if (ctx.operation === 'DELETE') {
      state.authMounts.delete(authPath);
      return noContent();
    }
    if (state.authMounts.has(authPath) || authPath === 'token') {
      throw badRequest(`path is already in use at auth/${authPath}/`);
    }
    const type = stringField(ctx.body, 'type');
    if (type !== 'approle' && type !== 'kubernetes') throw badRequest(`plugin not found in the catalog: ${type ?? ''}`);
    state.authMounts.set(authPath, {
      path: authPath,
      type,
      approleRoles: new Map(),
      kubernetesRoles: new Map(),
      kubernetesConfig: undefined,
    });
    return noContent();
  }
  const policyReply = routePolicies(ctx, rest);
  if (policyReply) return policyReply;
  if (rest === 'mounts') {
    expectOperation(ctx, 'GET');
    return ok(Object.fromEntries([...state.mounts.keys()].map((p) => [`${p}/`, { type: 'pki' }])));
  }
  throw unsupportedPath();
}
