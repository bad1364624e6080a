/**
 * `@certloop/vault-signer` events: what the signer reports besides its results. No event carries a token, a secret
 * ID or a JWT.
 */
import type { CertloopError } from '@certloop/core';

export type VaultSignerEvent =
  /** Vault answered with warnings (TTL capped to max_ttl, CN or SANs ignored…). */
  | { readonly type: 'warning'; readonly path: string; readonly warnings: readonly string[] }
  /** The certificate's lifetime is shorter than requested (capped or truncated by Vault). */
  | {
      readonly type: 'lifetime-shortened';
      readonly requestedSeconds: number;
      readonly issuedSeconds: number;
      readonly notAfter: Date;
    }
  | { readonly type: 'login'; readonly method: string; readonly ttlSeconds: number; readonly renewable: boolean }
  | { readonly type: 'login-failed'; readonly method: string; readonly error: CertloopError }
  | { readonly type: 'token-renewed'; readonly ttlSeconds: number; readonly atMaxTtl: boolean }
  | { readonly type: 'token-renewal-failed'; readonly error: CertloopError }
  | {
      readonly type: 'retry';
      readonly path: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: CertloopError;
    }
  | { readonly type: 'trust-bundle-refreshed'; readonly roots: number };
