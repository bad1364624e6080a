/**
 * `@certloop/agent-rotator` bootstrap tokens: what grants an agent its first certificate.
 *
 * The default verifier compares the presented token with `relay-identity-token-secret` (key `token`) in constant
 * time; a custom {@link TokenVerifier} can hold per-cluster tokens or ask another system.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface TokenCheckRequest {
  /** The presented token (never log it). */
  readonly token: string;
  /** The cluster the caller claims to be: the identity the token would grant. */
  readonly cluster: string;
  /** The caller's address. */
  readonly peer: string;
}

/**
 * Contract: resolves true only when `token` entitles its bearer to a certificate for `cluster`. Compare in constant
 * time. Never throw for a wrong token (resolve false); throw (any error) when the answer cannot be known now, and
 * the server refuses with UNAVAILABLE without counting a failed attempt.
 */
export type TokenVerifier = (request: TokenCheckRequest, options: { signal?: AbortSignal }) => Promise<boolean>;

/** Constant-time equality of two tokens of any length (both are hashed first, so lengths do not leak). */
export function tokensEqual(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** One shared token for every cluster, read by `currentToken` (e.g. from the token secret). */
export function sharedTokenVerifier(currentToken: () => string | undefined): TokenVerifier {
  return async ({ token }) => {
    const expected = currentToken();
    if (expected === undefined) return false;
    return tokensEqual(expected, token);
  };
}

/** A token per cluster: a token is good only for the cluster it was issued to. */
export function perClusterTokenVerifier(
  tokens: Readonly<Record<string, string>> | ReadonlyMap<string, string>,
): TokenVerifier {
  const map = tokens instanceof Map ? tokens : new Map(Object.entries(tokens));
  return async ({ token, cluster }) => {
    const expected = map.get(cluster);
    // compare even when the cluster is unknown, so timing does not tell which clusters exist
    return tokensEqual(expected ?? '\u0000unknown', token) && expected !== undefined;
  };
}
