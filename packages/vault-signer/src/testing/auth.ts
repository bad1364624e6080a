/**
 * `@certloop/vault-signer/testing` internal: `auth/…` (contract section 4 and 6): AppRole and Kubernetes logins and
 * their configuration, and the token endpoints (`create`, `lookup-self`, `renew-self`, `revoke-self`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseDuration, parseList } from './duration.js';
import { badRequest, noContent, ok, permissionDenied, VaultHttpError, type VaultReply } from './http.js';
import {
  expectOperation,
  noHandler,
  type RequestContext,
  requireToken,
  stringField,
  unsupportedPath,
} from './router.js';
import type { AppRoleRole, AuthMount } from './state.js';

const login = (ctx: RequestContext, entry: ReturnType<RequestContext['state']['tokens']['create']>) =>
  ok(null, { auth: ctx.state.tokens.authBlock(entry) });

function tokenEndpoints(ctx: RequestContext, rest: string): VaultReply {
  const { tokens } = ctx.state;
  if (rest === 'lookup-self') {
    expectOperation(ctx, 'GET');
    return ok(tokens.lookupData(requireToken(ctx)));
  }
  if (rest === 'renew-self') {
    expectOperation(ctx, 'WRITE');
    const entry = requireToken(ctx);
    if (!entry.renewable) throw badRequest('lease is not renewable');
    const warnings = tokens.renew(entry, parseDuration(ctx.body.increment, 'increment') || undefined);
    return ok(null, { auth: tokens.authBlock(entry), warnings });
  }
  if (rest === 'revoke-self') {
    expectOperation(ctx, 'WRITE');
    tokens.revoke(requireToken(ctx).id);
    return noContent();
  }
  if (rest === 'create' || rest === 'create-orphan') {
    expectOperation(ctx, 'WRITE');
    const entry = tokens.create({
      policies: parseList(ctx.body.policies),
      ttlSeconds: parseDuration(ctx.body.ttl),
      maxTtlSeconds: parseDuration(ctx.body.explicit_max_ttl, 'explicit_max_ttl'),
      displayName: `token-${stringField(ctx.body, 'display_name') ?? ''}`,
      path: 'auth/token/create',
      meta: (ctx.body.meta as Record<string, string> | undefined) ?? null,
      renewable: ctx.body.renewable !== false,
    });
    return login(ctx, entry);
  }
  throw unsupportedPath();
}

function approle(ctx: RequestContext, mount: AuthMount, rest: string): VaultReply {
  const { tokens, clock } = ctx.state;
  if (rest === 'login') {
    expectOperation(ctx, 'WRITE');
    const roleId = stringField(ctx.body, 'role_id');
    const secretId = stringField(ctx.body, 'secret_id');
    if (!roleId) throw badRequest('missing role_id');
    if (!secretId) throw badRequest('missing secret_id');
    const role = [...mount.approleRoles.values()].find((r) => r.roleId === roleId);
    const secret = role?.secretIds.get(secretId);
    if (!role || !secret || (secret.expireAt !== undefined && secret.expireAt <= clock.now().getTime())) {
      throw badRequest('invalid role or secret ID');
    }
    return login(
      ctx,
      tokens.create({
        policies: role.tokenPolicies,
        ttlSeconds: role.tokenTtl,
        maxTtlSeconds: role.tokenMaxTtl,
        meta: { role_name: role.name },
        displayName: `${mount.path}`,
        path: `auth/${mount.path}/login`,
      }),
    );
  }
  const match = /^role\/([^/]+)(?:\/(role-id|secret-id))?$/.exec(rest);
  if (!match) throw unsupportedPath();
  const [, name, sub] = match;
  const existing = mount.approleRoles.get(name!);
  if (!sub) {
    expectOperation(ctx, 'WRITE', 'GET', 'DELETE');
    if (ctx.operation === 'DELETE') {
      mount.approleRoles.delete(name!);
      return noContent();
    }
    if (ctx.operation === 'GET') {
      if (!existing) throw new VaultHttpError(404, []);
      return ok({
        token_ttl: existing.tokenTtl,
        token_max_ttl: existing.tokenMaxTtl,
        token_policies: existing.tokenPolicies,
        secret_id_ttl: existing.secretIdTtl,
      });
    }
    const b = ctx.body;
    const role: AppRoleRole = {
      name: name!,
      roleId: existing?.roleId ?? randomUUID(),
      tokenTtl: b.token_ttl === undefined ? (existing?.tokenTtl ?? 0) : parseDuration(b.token_ttl, 'token_ttl'),
      tokenMaxTtl:
        b.token_max_ttl === undefined ? (existing?.tokenMaxTtl ?? 0) : parseDuration(b.token_max_ttl, 'token_max_ttl'),
      tokenPolicies: parseList(b.token_policies ?? b.policies ?? existing?.tokenPolicies),
      secretIdTtl:
        b.secret_id_ttl === undefined ? (existing?.secretIdTtl ?? 0) : parseDuration(b.secret_id_ttl, 'secret_id_ttl'),
      secretIds: existing?.secretIds ?? new Map(),
    };
    mount.approleRoles.set(name!, role);
    return noContent();
  }
  if (!existing) throw badRequest(`role "${name}" does not exist`);
  if (sub === 'role-id') {
    expectOperation(ctx, 'GET');
    return ok({ role_id: existing.roleId });
  }
  expectOperation(ctx, 'WRITE');
  const secretId = randomUUID();
  const accessor = randomUUID();
  const now = clock.now().getTime();
  existing.secretIds.set(secretId, {
    accessor,
    expireAt: existing.secretIdTtl ? now + existing.secretIdTtl * 1000 : undefined,
  });
  return ok({
    secret_id: secretId,
    secret_id_accessor: accessor,
    secret_id_ttl: existing.secretIdTtl,
    secret_id_num_uses: 0,
  });
}

async function kubernetes(ctx: RequestContext, mount: AuthMount, rest: string): Promise<VaultReply> {
  const { tokens } = ctx.state;
  if (rest === 'login') {
    expectOperation(ctx, 'WRITE');
    const roleName = stringField(ctx.body, 'role');
    const jwt = stringField(ctx.body, 'jwt');
    if (!roleName) throw badRequest('missing role');
    if (!jwt) throw badRequest('missing jwt');
    const role = mount.kubernetesRoles.get(roleName);
    if (!role) throw badRequest(`invalid role name "${roleName}"`);
    const account = await ctx.state.validateServiceAccount(jwt);
    if (!account) throw permissionDenied();
    const bound = (list: readonly string[], value: string) => list.includes('*') || list.includes(value);
    if (!bound(role.boundServiceAccountNames, account.name)) {
      throw new VaultHttpError(403, ['service account name not authorized']);
    }
    if (!bound(role.boundServiceAccountNamespaces, account.namespace)) {
      throw new VaultHttpError(403, ['namespace not authorized']);
    }
    return login(
      ctx,
      tokens.create({
        policies: role.tokenPolicies,
        ttlSeconds: role.tokenTtl,
        maxTtlSeconds: role.tokenMaxTtl,
        meta: {
          role: role.name,
          service_account_name: account.name,
          service_account_namespace: account.namespace,
          service_account_uid: randomBytes(8).toString('hex'),
        },
        displayName: `${mount.path}-${account.namespace}-${account.name}`,
        path: `auth/${mount.path}/login`,
      }),
    );
  }
  if (rest === 'config') {
    expectOperation(ctx, 'WRITE', 'GET');
    if (ctx.operation === 'GET') return ok({ ...(mount.kubernetesConfig ?? {}), token_reviewer_jwt: undefined });
    mount.kubernetesConfig = { ...ctx.body };
    return noContent();
  }
  const match = /^role\/([^/]+)$/.exec(rest);
  if (!match) throw unsupportedPath();
  expectOperation(ctx, 'WRITE', 'DELETE');
  if (ctx.operation === 'DELETE') {
    mount.kubernetesRoles.delete(match[1]!);
    return noContent();
  }
  const b = ctx.body;
  mount.kubernetesRoles.set(match[1]!, {
    name: match[1]!,
    boundServiceAccountNames: parseList(b.bound_service_account_names),
    boundServiceAccountNamespaces: parseList(b.bound_service_account_namespaces),
    tokenTtl: parseDuration(b.token_ttl, 'token_ttl'),
    tokenMaxTtl: parseDuration(b.token_max_ttl, 'token_max_ttl'),
    tokenPolicies: parseList(b.token_policies ?? b.policies),
  });
  return noContent();
}

/** Routes `auth/{mount}/…`. */
export async function routeAuth(ctx: RequestContext, path: string): Promise<VaultReply> {
  const rest = path.slice('auth/'.length);
  if (rest.startsWith('token/')) return tokenEndpoints(ctx, rest.slice('token/'.length));
  let best: AuthMount | undefined;
  for (const mount of ctx.state.authMounts.values()) {
    if (rest.startsWith(`${mount.path}/`) && (!best || mount.path.length > best.path.length)) best = mount;
  }
  if (!best) throw noHandler(path);
  const sub = rest.slice(best.path.length + 1);
  return best.type === 'approle' ? approle(ctx, best, sub) : kubernetes(ctx, best, sub);
}
