/**
 * `@certloop/vault-signer` errors: a Vault answer (or a failure to get one) as a certloop error with a stable code.
 *
 * | Vault answer | code |
 * |---|---|
 * | 400 role refusal: name, SAN, CN required | `CERTLOOP_POLICY_NAME_REJECTED` |
 * | 400 role refusal: key type or size | `CERTLOOP_POLICY_KEY_REJECTED` |
 * | 400 TTL beyond the CA's notAfter | `CERTLOOP_CA_EXPIRES_TOO_SOON` |
 * | 400 unknown role / 404 unknown mount or path / unknown issuer (400, 500) | `CERTLOOP_NOT_FOUND` |
 * | 400 bad CSR | `CERTLOOP_CSR_INVALID` |
 * | 400 other | `CERTLOOP_VAULT_REQUEST_REJECTED` |
 * | login refused (400, 403) | `CERTLOOP_UNAUTHENTICATED` |
 * | 403 `invalid token` (after one fresh login) | `CERTLOOP_UNAUTHENTICATED` |
 * | 403 permission denied | `CERTLOOP_FORBIDDEN` |
 * | 503 sealed, 5xx, 429, connection refused or reset | `CERTLOOP_UNAVAILABLE` (retried) |
 * | no answer within the timeout | `CERTLOOP_TIMEOUT` (retried) |
 *
 * Vault's own message travels in `details.vaultMessage`; the underlying HTTP error is never attached, since it holds
 * the request's headers and body (the token, a secret ID).
 */
import { CertloopError, type CertloopErrorCode } from '@certloop/core';

export type VaultCallKind = 'login' | 'call';

interface ResponseLike {
  readonly response?: { readonly statusCode?: number; readonly body?: unknown };
  readonly code?: string;
  readonly message?: string;
}

const RULES: readonly (readonly [RegExp, CertloopErrorCode])[] = [
  [/^unknown role: /, 'CERTLOOP_NOT_FOUND'],
  [
    /not allowed by this role|Subject Alternative Names? (are|is) not allowed|common_name field is required/,
    'CERTLOOP_POLICY_NAME_REJECTED',
  ],
  [/role requires keys of type|role requires a minimum of/, 'CERTLOOP_POLICY_KEY_REJECTED'],
  [/beyond the expiration of the CA certificate/, 'CERTLOOP_CA_EXPIRES_TOO_SOON'],
  [/csr contains no data|certificate request could not be parsed|request signature invalid/, 'CERTLOOP_CSR_INVALID'],
];

/** True when the error is a 403 whose text says `invalid token` (a fresh login may cure it). */
export function isInvalidTokenError(err: unknown): boolean {
  return err instanceof CertloopError && err.details?.invalidToken === true;
}

/** The codes a later attempt may cure. */
export function isTransient(err: unknown): boolean {
  return err instanceof CertloopError && (err.code === 'CERTLOOP_UNAVAILABLE' || err.code === 'CERTLOOP_TIMEOUT');
}

function firstError(body: unknown): string | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : undefined;
}

/** Maps what node-vault rejected with to a {@link CertloopError}; `path` is the Vault path (no secrets in it). */
export function vaultError(err: unknown, path: string, kind: VaultCallKind = 'call'): CertloopError {
  if (err instanceof CertloopError) return err;
  const e = (err ?? {}) as ResponseLike;
  const status = e.response?.statusCode;
  if (status === undefined) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '');
    return new CertloopError(
      timedOut ? 'CERTLOOP_TIMEOUT' : 'CERTLOOP_UNAVAILABLE',
      timedOut ? `vault did not answer ${path} in time` : `vault is unreachable (${code ?? 'network error'})`,
      { details: { path, ...(code ? { errorCode: code } : {}) } },
    );
  }
  const vaultMessage = firstError(e.response?.body) ?? '';
  const details = { path, status, vaultMessage };
  // an unknown issuer is a 500 on some reads: not worth retrying
  if (/unable to find PKI issuer for reference|no default issuer currently configured/.test(vaultMessage)) {
    return new CertloopError('CERTLOOP_NOT_FOUND', `vault has no such issuer: ${vaultMessage.trim()}`, { details });
  }
  if (status === 429 || status >= 500) {
    const sealed = status === 503 && vaultMessage.includes('Vault is sealed');
    return new CertloopError('CERTLOOP_UNAVAILABLE', sealed ? 'vault is sealed' : `vault answered ${status}`, {
      details: { ...details, sealed },
    });
  }
  if (kind === 'login' && (status === 400 || status === 403)) {
    return new CertloopError('CERTLOOP_UNAUTHENTICATED', `vault refused the login: ${vaultMessage}`, { details });
  }
  if (status === 403) {
    if (vaultMessage.includes('invalid token')) {
      return new CertloopError('CERTLOOP_UNAUTHENTICATED', 'vault refused the token (invalid token)', {
        details: { ...details, invalidToken: true },
      });
    }
    return new CertloopError('CERTLOOP_FORBIDDEN', `vault denied ${path}: permission denied`, { details });
  }
  if (status === 404) return new CertloopError('CERTLOOP_NOT_FOUND', `vault has no ${path}`, { details });
  const rule = RULES.find(([pattern]) => pattern.test(vaultMessage));
  return new CertloopError(rule?.[1] ?? 'CERTLOOP_VAULT_REQUEST_REJECTED', `vault refused: ${vaultMessage}`, {
    details,
  });
}
