/**
 * `@certloop/vault-signer` auth/token: a token given as it is. "Logging in" looks the token up (`lookup-self`) to
 * learn its TTL and whether it is renewable; an expired or revoked token cannot be replaced, so it fails with
 * `CERTLOOP_UNAUTHENTICATED`.
 */
import type { TokenAuth } from '../options.js';
import type { LoginFunction } from './types.js';

export function tokenLogin(auth: TokenAuth): LoginFunction {
  return async (client, signal) => {
    const answer = await client.tokenLookupSelf(auth.token, signal);
    const data = answer.data ?? {};
    return { token: auth.token, ttlSeconds: Number(data.ttl ?? 0), renewable: data.renewable === true };
  };
}
