/**
 * `@certloop/vault-signer` auth: what a login gives back, and the shape of one login function per method.
 */
import { CertloopError } from '@certloop/core';
import type { VaultClient } from '../client.js';

export interface LoginResult {
  readonly token: string;
  /** Seconds the token lives; 0: it does not expire. */
  readonly ttlSeconds: number;
  readonly renewable: boolean;
}

/** Obtains a token. Rejects with `CERTLOOP_UNAUTHENTICATED` when Vault refuses. */
export type LoginFunction = (client: VaultClient, signal?: AbortSignal) => Promise<LoginResult>;

/** Reads a login's `auth` block; a login answer without a token is a refusal. */
export function loginResult(answer: Awaited<ReturnType<VaultClient['write']>>): LoginResult {
  const auth = answer.auth;
  if (!auth?.client_token)
    throw new CertloopError('CERTLOOP_UNAUTHENTICATED', 'the login answer holds no client token');
  return {
    token: auth.client_token,
    ttlSeconds: Number(auth.lease_duration ?? 0),
    renewable: auth.renewable !== false,
  };
}
