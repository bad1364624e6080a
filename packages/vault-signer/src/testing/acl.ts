/**
 * `@certloop/vault-signer/testing` internal: Vault's ACL decision on every request (contract section 8). A token's
 * policies (with `default` unless it opted out) form one ACL: rules on the same path string merge (a `deny` there beats
 * everything); an exact path wins; else the one matching glob of highest priority decides (Vault's order: the first
 * `+` or `*` later, not ending in `*`, fewer `+`, longer, lexically larger); no match is a denial. The root policy
 * allows everything. Unauthenticated paths (health, logins, the CA fetches) need no token at all.
 */
import { invalidToken, permissionDenied } from './http.js';
import type { Capability, PathRule } from './policy-parse.js';
import type { RequestContext } from './router.js';
import type { EmulatorState } from './state.js';
import type { TokenEntry } from './tokens.js';

interface Rule {
  readonly path: string;
  readonly capabilities: Set<Capability>;
  readonly pattern: RegExp | undefined;
}

/** The merged rules of a set of policies. */
export class Acl {
  readonly #exact = new Map<string, Rule>();
  readonly #globs: Rule[] = [];

  constructor(rules: readonly PathRule[]) {
    const byPath = new Map<string, Set<Capability>>();
    for (const rule of rules) {
      const caps = byPath.get(rule.path) ?? new Set<Capability>();
      for (const c of rule.capabilities) caps.add(c);
      byPath.set(rule.path, caps);
    }
    for (const [path, merged] of byPath) {
      const capabilities = merged.has('deny') ? new Set<Capability>(['deny']) : merged;
      const glob = path.endsWith('*') || path.split('/').includes('+');
      const rule: Rule = { path, capabilities, pattern: glob ? globPattern(path) : undefined };
      if (glob) this.#globs.push(rule);
      else this.#exact.set(path, rule);
    }
  }

  /** The capabilities granted on `path` (empty: denied). */
  capabilities(path: string): ReadonlySet<Capability> {
    const exact = this.#exact.get(path);
    if (exact) return exact.capabilities;
    let best: Rule | undefined;
    for (const rule of this.#globs) {
      if (rule.pattern!.test(path) && (!best || lowerPriority(best.path, rule.path))) best = rule;
    }
    return best?.capabilities ?? new Set();
  }
}

function globPattern(path: string): RegExp {
  const prefix = path.endsWith('*') ? path.slice(0, -1) : path;
  const body = prefix
    .split('/')
    .map((segment) => (segment === '+' ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}${path.endsWith('*') ? '.*' : ''}$`);
}

const firstWildcard = (p: string) => {
  const plus = p.split('/').indexOf('+');
  const plusAt =
    plus < 0 ? Number.POSITIVE_INFINITY : p.split('/').slice(0, plus).join('/').length + (plus > 0 ? 1 : 0);
  const starAt = p.endsWith('*') ? p.length - 1 : Number.POSITIVE_INFINITY;
  return Math.min(plusAt, starAt);
};
const plusCount = (p: string) => p.split('/').filter((s) => s === '+').length;

/** Vault's documented priority between two matching globs: true when `a` loses to `b`. */
export function lowerPriority(a: string, b: string): boolean {
  const wa = firstWildcard(a);
  const wb = firstWildcard(b);
  if (wa !== wb) return wa < wb;
  const sa = a.endsWith('*');
  const sb = b.endsWith('*');
  if (sa !== sb) return sa;
  const pa = plusCount(a);
  const pb = plusCount(b);
  if (pa !== pb) return pa > pb;
  if (a.length !== b.length) return a.length < b.length;
  return a < b;
}

/** Paths Vault serves without a token. */
export function isUnauthenticated(state: EmulatorState, path: string, operation: RequestContext['operation']): boolean {
  if (path === 'sys/health' || path === 'sys/seal-status' || path === 'sys/unseal') return true;
  if (/^auth\/.+\/login$/.test(path)) return true;
  for (const mount of state.mounts.values()) {
    if (!path.startsWith(`${mount.path}/`)) continue;
    const rest = path.slice(mount.path.length + 1);
    if (['ca', 'ca/pem', 'ca_chain', 'crl', 'crl/pem'].includes(rest) || rest.startsWith('cert/')) return true;
    if (/^issuer\/[^/]+\/(json|pem|der)$/.test(rest)) return true;
    if (rest === 'issuers' && operation === 'LIST') return true;
  }
  return false;
}

/** Paths that also need `sudo` (Vault's root-protected paths among those the emulator serves). */
function needsSudo(state: EmulatorState, path: string): boolean {
  if (/^sys\/(auth\/|seal$|audit|raw|rotate)/.test(path) || path === 'auth/token/create-orphan') return true;
  for (const mount of state.mounts.values()) {
    if (path === `${mount.path}/root` || path === `${mount.path}/root/sign-self-issued`) return true;
  }
  return false;
}

/** A write is `create` where the path has an existence check and nothing is there yet, else `update`. */
function writeCapability(state: EmulatorState, path: string): Capability {
  const role = /^(.+)\/roles\/([^/]+)$/.exec(path);
  if (role) {
    const mount = state.mounts.get(role[1]!);
    if (mount) return mount.roles.has(role[2]!) ? 'update' : 'create';
  }
  const authRole = /^auth\/(.+)\/role\/([^/]+)$/.exec(path);
  if (authRole) {
    const mount = state.authMounts.get(authRole[1]!);
    if (mount) {
      const exists =
        mount.type === 'approle' ? mount.approleRoles.has(authRole[2]!) : mount.kubernetesRoles.has(authRole[2]!);
      return exists ? 'update' : 'create';
    }
  }
  return 'update';
}

const OPERATION_CAPABILITY: Record<Exclude<RequestContext['operation'], 'WRITE'>, Capability> = {
  GET: 'read',
  LIST: 'list',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The ACL of a token: its policies as stored now (a policy edited later applies at once, as in Vault). */
export function aclOf(state: EmulatorState, entry: TokenEntry): Acl {
  const rules: PathRule[] = [];
  for (const name of entry.policies) rules.push(...(state.policies.get(name)?.rules ?? []));
  return new Acl(rules);
}

/**
 * Refuses the request unless the token's policies allow it: 403 `invalid token` without a live token on an
 * authenticated path, 403 `permission denied` when no rule grants the operation's capability (and `sudo` where the
 * path is root-protected). Gives the token, if any.
 */
export function authorize(ctx: RequestContext): TokenEntry | undefined {
  const { state, path, operation } = ctx;
  if (isUnauthenticated(state, path, operation)) return state.tokens.lookup(ctx.rawToken);
  const entry = state.tokens.lookup(ctx.rawToken);
  if (!entry) throw invalidToken();
  if (entry.policies.includes('root')) return entry;
  // LIST requests reach Vault's ACL with a trailing slash
  const aclPath = operation === 'LIST' && !path.endsWith('/') ? `${path}/` : path;
  const caps = aclOf(state, entry).capabilities(aclPath);
  if (caps.has('deny')) throw permissionDenied();
  const wanted = operation === 'WRITE' ? writeCapability(state, path) : OPERATION_CAPABILITY[operation];
  if (!caps.has(wanted)) throw permissionDenied();
  if (needsSudo(state, path) && !caps.has('sudo')) throw permissionDenied();
  return entry;
}
