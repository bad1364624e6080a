/**
 * `@certloop/vault-signer/testing` internal: the ACL policy store (contract section 8): `sys/policy[/{name}]` (what
 * node-vault's `policies`, `getPolicy`, `addPolicy`, `removePolicy` call) and `sys/policies/acl[/{name}]`, with
 * Vault's `default` policy (editable, not deletable) and the implicit `root`.
 */
import { badRequest, noContent, ok, type VaultReply } from './http.js';
import { type PathRule, PolicyParseError, parsePolicy } from './policy-parse.js';
import { expectOperation, missing, type RequestContext, stringField } from './router.js';

export interface StoredPolicy {
  readonly name: string;
  readonly text: string;
  readonly rules: readonly PathRule[];
}

/** What Vault's `default` policy grants a token on itself (written for the emulator, same paths). */
export const DEFAULT_POLICY = `# a token may look itself up, renew and revoke itself, and ask its own capabilities
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }
path "identity/entity/name/{{identity.entity.name}}" { capabilities = ["read"] }
path "identity/oidc/provider/+/authorize" { capabilities = ["read", "update"] }
path "sys/internal/ui/resultant-acl" { capabilities = ["read"] }
path "sys/renew" { capabilities = ["update"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/lookup" { capabilities = ["update"] }
path "cubbyhole/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/wrapping/wrap" { capabilities = ["update"] }
path "sys/wrapping/lookup" { capabilities = ["update"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }
path "sys/tools/hash" { capabilities = ["update"] }
path "sys/tools/hash/*" { capabilities = ["update"] }
path "sys/control-group/request" { capabilities = ["update"] }
path "sys/mfa/challenge" { capabilities = ["update"] }
`;

export function initialPolicies(): Map<string, StoredPolicy> {
  return new Map([['default', { name: 'default', text: DEFAULT_POLICY, rules: parsePolicy(DEFAULT_POLICY) }]]);
}

function listNames(policies: Map<string, StoredPolicy>): string[] {
  return [...[...policies.keys()].sort(), 'root'];
}

/** Routes `sys/policy[/{name}]` (old API: `rules`) and `sys/policies/acl[/{name}]` (`policy`). */
export function routePolicies(ctx: RequestContext, rest: string): VaultReply | undefined {
  const old = /^policy(?:\/(.+))?$/.exec(rest);
  const acl = /^policies\/acl(?:\/(.+))?$/.exec(rest);
  const match = old ?? acl;
  if (!match) return undefined;
  const { policies } = ctx.state;
  const rawName = match[1];
  if (rawName === undefined) {
    if (old) {
      expectOperation(ctx, 'GET', 'LIST');
      const keys = listNames(policies);
      return { kind: 'bare', body: envelope({ keys, policies: keys }, { keys, policies: keys }) };
    }
    expectOperation(ctx, 'LIST');
    return ok({ keys: listNames(policies) });
  }
  const name = rawName.toLowerCase();
  expectOperation(ctx, 'GET', 'WRITE', 'DELETE');
  if (ctx.operation === 'GET') {
    if (name === 'root') {
      return old
        ? { kind: 'bare', body: envelope({ name, rules: '' }, { name, rules: '' }) }
        : ok({ name, policy: '' });
    }
    const stored = policies.get(name);
    if (!stored) throw missing();
    if (old) return { kind: 'bare', body: envelope({ name, rules: stored.text }, { name, rules: stored.text }) };
    return ok({ name, policy: stored.text });
  }
  if (ctx.operation === 'DELETE') {
    if (name === 'default') throw badRequest('cannot delete default policy');
    if (name === 'root') throw badRequest('cannot delete "root" policy');
    policies.delete(name);
    return noContent();
  }
  const fromRules = ctx.body.policy === undefined && ctx.body.rules !== undefined;
  const text = stringField(ctx.body, 'policy') ?? stringField(ctx.body, 'rules') ?? '';
  if (!text.trim()) throw badRequest("'policy' parameter not supplied or empty");
  if (name === 'root') throw badRequest('cannot update "root" policy');
  let rules: PathRule[];
  try {
    rules = parsePolicy(text);
  } catch (err) {
    if (err instanceof PolicyParseError) throw badRequest(`failed to parse policy: ${err.message}`);
    throw err;
  }
  policies.set(name, { name, text, rules });
  return fromRules ? ok(null, { warnings: ["'rules' is deprecated, please use 'policy' instead"] }) : noContent();
}

/** Vault's envelope with `data` and the same fields at the top level too (the old policy API). */
function envelope(data: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  return {
    ...top,
    request_id: crypto.randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'system',
  };
}
