/**
 * `@certloop/vault-signer/testing` internal: one request as the handlers see it, Vault's routing errors, and the
 * token checks (contract section 0: 403 texts, unknown mount, unsupported path and operation).
 */
import { invalidToken, VaultHttpError } from './http.js';
import type { EmulatorState, PkiMount } from './state.js';
import type { TokenEntry } from './tokens.js';

/** GET, LIST (a `LIST` request or `GET ?list=true`), WRITE (POST or PUT), PATCH or DELETE. */
export type Operation = 'GET' | 'LIST' | 'WRITE' | 'PATCH' | 'DELETE';

export interface RequestContext {
  readonly state: EmulatorState;
  readonly operation: Operation;
  /** The path after `/v1/`, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
  readonly rawToken: string | undefined;
}

export const unsupportedPath = () => new VaultHttpError(404, ['1 error occurred:\n\t* unsupported path\n\n']);
export const unsupportedOperation = () => new VaultHttpError(405, ['1 error occurred:\n\t* unsupported operation\n\n']);
export const noHandler = (path: string) =>
  new VaultHttpError(404, [`no handler for route "${path}". route entry not found.`]);
/** A GET of something missing: 404 with an empty `errors`. */
export const missing = () => new VaultHttpError(404, []);

/** The caller's live token, or 403 with `permission denied` and `invalid token`. */
export function requireToken(ctx: RequestContext): TokenEntry {
  const entry = ctx.state.tokens.lookup(ctx.rawToken);
  if (!entry) throw invalidToken();
  return entry;
}

/** The PKI mount a path falls under (longest mount path first), and the rest of the path. */
export function findMount(state: EmulatorState, path: string): { mount: PkiMount; rest: string } | undefined {
  let best: PkiMount | undefined;
  for (const mount of state.mounts.values()) {
    if ((path === mount.path || path.startsWith(`${mount.path}/`)) && (!best || mount.path.length > best.path.length)) {
      best = mount;
    }
  }
  return best ? { mount: best, rest: path.slice(best.path.length + 1) } : undefined;
}

export function expectOperation(ctx: RequestContext, ...allowed: Operation[]): void {
  if (!allowed.includes(ctx.operation)) throw unsupportedOperation();
}

/** A string field of the body, or undefined. */
export function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : String(value);
}
