/**
 * `@certloop/vault-signer/testing` faults: what a test makes the emulator do wrong, on purpose: answer the next N
 * requests with a status (500, 503 sealed, 429), add latency, revoke a token, hang requests.
 */

/** A status the emulator can answer instead of doing the work, with the body Vault sends for it. */
export type FaultStatus = 500 | 502 | 503 | 429;

export interface FaultMatch {
  /** Only requests whose path (after `/v1/`) contains this, or matches this expression. Default: all but health. */
  readonly path?: string | RegExp;
}

/**
 * Contract: faults apply to requests arriving after they are set, in arrival order; `sys/health`, `sys/seal-status`
 * and `sys/unseal` are never faulted. Safe to call at any time; `reset()` clears all of them (hung requests stay hung
 * until the emulator closes).
 */
export interface VaultFaults {
  /** Answers the next `count` matching requests with `status` (503 as a sealed Vault, 429 as a rate limit). */
  failNext(count: number, status: FaultStatus, match?: FaultMatch): void;
  /** Adds `ms` of real latency before every matching request (0 removes it). */
  latency(ms: number, match?: FaultMatch): void;
  /** Revokes a token at once (as an operator would); later requests with it get 403 `invalid token`. */
  revokeToken(token: string): void;
  /**
   * Revokes every token issued by logins on an auth mount (`approle`, `kubernetes`), as an operator revoking by
   * prefix would (`vault token revoke -prefix auth/approle/login`); gives how many were revoked.
   */
  revokeLoginTokens(authMount: string): number;
  /** Never answers the next `count` matching requests (the client must time out or abort). */
  hangNext(count?: number, match?: FaultMatch): void;
  reset(): void;
}

interface Counted {
  remaining: number;
  readonly match: FaultMatch;
}

/** The fault plan the server consults for each request. */
export class FaultPlan implements VaultFaults {
  readonly #failures: (Counted & { readonly status: FaultStatus })[] = [];
  readonly #hangs: Counted[] = [];
  #latency: { ms: number; match: FaultMatch } | undefined;
  readonly #revoke: (token: string) => void;
  readonly #revokePrefix: (prefix: string) => number;

  constructor(revoke: (token: string) => void, revokePrefix: (prefix: string) => number) {
    this.#revoke = revoke;
    this.#revokePrefix = revokePrefix;
  }

  revokeLoginTokens(authMount: string): number {
    return this.#revokePrefix(`auth/${authMount}/login`);
  }

  failNext(count: number, status: FaultStatus, match: FaultMatch = {}): void {
    this.#failures.push({ remaining: count, status, match });
  }

  latency(ms: number, match: FaultMatch = {}): void {
    this.#latency = ms > 0 ? { ms, match } : undefined;
  }

  revokeToken(token: string): void {
    this.#revoke(token);
  }

  hangNext(count = 1, match: FaultMatch = {}): void {
    this.#hangs.push({ remaining: count, match });
  }

  reset(): void {
    this.#failures.length = 0;
    this.#hangs.length = 0;
    this.#latency = undefined;
  }

  /** What to do with a request to `path`: consumes one count of the first matching fault. */
  take(path: string): { latencyMs: number; hang: boolean; status: FaultStatus | undefined } {
    if (/^sys\/(health|seal-status|unseal)$/.test(path)) return { latencyMs: 0, hang: false, status: undefined };
    const latencyMs = this.#latency && matches(this.#latency.match, path) ? this.#latency.ms : 0;
    const hang = consume(this.#hangs, path) !== undefined;
    const failure = hang ? undefined : consume(this.#failures, path);
    return { latencyMs, hang, status: failure?.status };
  }
}

function matches(match: FaultMatch, path: string): boolean {
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? path.includes(match.path) : match.path.test(path);
}

function consume<T extends Counted>(list: T[], path: string): T | undefined {
  const index = list.findIndex((f) => f.remaining > 0 && matches(f.match, path));
  if (index < 0) return undefined;
  const fault = list[index]!;
  fault.remaining -= 1;
  if (fault.remaining === 0) list.splice(index, 1);
  return fault;
}

/** The body Vault sends with each fault status. */
export function faultErrors(status: FaultStatus, path: string): string[] {
  if (status === 503) return ['Vault is sealed'];
  if (status === 429) return [`request path "${path}": rate limit quota exceeded`];
  if (status === 502) return ['bad gateway'];
  return ['1 error occurred:\n\t* internal error\n\n'];
}
