/**
 * `@certloop/k8s-store/testing` auth: optional bearer tokens. Without a token (or with an unknown one) a request is
 * 401; with a token whose grants do not cover the verb and resource it is 403, worded as RBAC words it.
 */

/** One RBAC-like rule: these verbs on these resources (`secrets`, `leases`); `*` matches all. */
export interface AccessRule {
  readonly verbs: readonly string[];
  readonly resources: readonly string[];
}

export interface TokenGrant {
  /** The user name in 403 messages (default `system:serviceaccount:default:<token>`). */
  readonly user?: string;
  /** What the token may do; omitted means everything. */
  readonly rules?: readonly AccessRule[];
}

export interface EmulatorAuthOptions {
  /** Bearer tokens the emulator accepts. */
  readonly tokens: Readonly<Record<string, TokenGrant>>;
}

export type AuthDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 401 }
  | { readonly ok: false; readonly code: 403; readonly user: string };

export function authorize(
  auth: EmulatorAuthOptions | undefined,
  token: string | undefined,
  verb: string | undefined,
  resource: string | undefined,
): AuthDecision {
  if (!auth) return { ok: true };
  const grant = token === undefined ? undefined : auth.tokens[token];
  if (!grant) return { ok: false, code: 401 };
  if (!grant.rules || verb === undefined || resource === undefined) return { ok: true };
  const allowed = grant.rules.some(
    (rule) =>
      (rule.verbs.includes('*') || rule.verbs.includes(verb)) &&
      (rule.resources.includes('*') || rule.resources.includes(resource)),
  );
  return allowed
    ? { ok: true }
    : { ok: false, code: 403, user: grant.user ?? `system:serviceaccount:default:${token}` };
}
