/**
 * `@certloop/core` errors: one base class with a stable string `code`.
 *
 * Callers switch on `err.code`, never on message text. Messages never contain private key material.
 */

/** Every stable error code certloop raises. Codes are never renamed; new ones are only appended. */
export const ERROR_CODES = [
  // input and encoding
  'CERTLOOP_INVALID_ARGUMENT',
  'CERTLOOP_INVALID_CONFIG',
  'CERTLOOP_INVALID_PEM',
  'CERTLOOP_INVALID_DER',
  'CERTLOOP_INPUT_TOO_LARGE',
  'CERTLOOP_UNSUPPORTED_ALGORITHM',
  'CERTLOOP_INVALID_KEY',
  'CERTLOOP_KEY_MISMATCH',
  // certificate signing requests
  'CERTLOOP_CSR_INVALID',
  'CERTLOOP_CSR_SIGNATURE_INVALID',
  'CERTLOOP_CSR_IDENTITY_MISMATCH',
  // CA policy
  'CERTLOOP_POLICY_KEY_REJECTED',
  'CERTLOOP_POLICY_NAME_REJECTED',
  'CERTLOOP_POLICY_LIFETIME_EXCEEDED',
  'CERTLOOP_POLICY_PROFILE_REJECTED',
  'CERTLOOP_CA_EXPIRES_TOO_SOON',
  'CERTLOOP_CA_NOT_A_CA',
  // chain validation
  /** A live endpoint's certificate does not name the host it was reached at (`certloop inspect https://host`). */
  'CERTLOOP_CHAIN_HOSTNAME_MISMATCH',
  'CERTLOOP_CHAIN_UNTRUSTED',
  'CERTLOOP_CHAIN_SIGNATURE_INVALID',
  'CERTLOOP_CHAIN_EXPIRED',
  'CERTLOOP_CHAIN_NOT_YET_VALID',
  'CERTLOOP_CHAIN_ISSUER_NOT_CA',
  'CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED',
  'CERTLOOP_CHAIN_KEY_USAGE',
  'CERTLOOP_CHAIN_EXT_KEY_USAGE',
  'CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION',
  'CERTLOOP_CHAIN_TOO_LONG',
  // stores, watchers, leases
  'CERTLOOP_NOT_FOUND',
  'CERTLOOP_CONFLICT',
  'CERTLOOP_INVALID_NAME',
  'CERTLOOP_STORE_IO',
  'CERTLOOP_STORE_CORRUPT',
  'CERTLOOP_READ_ONLY',
  'CERTLOOP_LOCK_TIMEOUT',
  'CERTLOOP_WATCH_FAILED',
  'CERTLOOP_NOT_LEADER',
  'CERTLOOP_LEADERSHIP_LOST',
  // lifecycle
  'CERTLOOP_CA_RESPONSE_INVALID',
  'CERTLOOP_CREDENTIAL_INVALID',
  'CERTLOOP_BOOTSTRAP_FAILED',
  'CERTLOOP_TOKEN_INVALID',
  'CERTLOOP_ABORTED',
  'CERTLOOP_TIMEOUT',
  'CERTLOOP_CLOSED',
  'CERTLOOP_NOT_IMPLEMENTED',
  // remote services (Kubernetes API, Vault, the relay): shared by every adapter
  'CERTLOOP_UNAUTHENTICATED',
  'CERTLOOP_FORBIDDEN',
  'CERTLOOP_UNAVAILABLE',
  'CERTLOOP_RATE_LIMITED',
  'CERTLOOP_CHAIN_REVOKED',

  // kubernetes adapter (@certloop/k8s-store)
  /** The API server refused the object as invalid (HTTP 422 Invalid); `details.causes` lists the fields. */
  'CERTLOOP_K8S_INVALID',
  /** A data change to a Secret marked `immutable: true` (HTTP 422, field is immutable). */
  'CERTLOOP_K8S_IMMUTABLE',
  /** A watch or list asked for a resourceVersion the server no longer has (HTTP 410 Expired / Gone). */
  'CERTLOOP_K8S_EXPIRED',

  // vault adapter (@certloop/vault-signer)
  /** Vault refused a request with a 400 that is no role refusal certloop classifies (message in details). */
  'CERTLOOP_VAULT_REQUEST_REJECTED',

  // PKCS#11 adapter (@certloop/pkcs11): keys on a hardware token; no message or detail ever carries a PIN
  /** A `pkcs11:` URI (RFC 7512) that does not parse, or names an attribute twice or one certloop does not know. */
  'CERTLOOP_PKCS11_URI_INVALID',
  /** The PKCS#11 module (the `.so`) is not at the path given. */
  'CERTLOOP_PKCS11_MODULE_NOT_FOUND',
  /** The module is there but cannot be loaded or initialised (wrong architecture, not PKCS#11, the addon missing). */
  'CERTLOOP_PKCS11_MODULE_UNLOADABLE',
  /** No slot holds a token matching the URI's token attributes. */
  'CERTLOOP_PKCS11_TOKEN_NOT_FOUND',
  /** No key (or certificate) on the token matches the label or id asked for. */
  'CERTLOOP_PKCS11_OBJECT_NOT_FOUND',
  /** The token refused the user PIN (CKR_PIN_INCORRECT). */
  'CERTLOOP_PKCS11_PIN_INCORRECT',
  /** The user PIN is locked on the token (CKR_PIN_LOCKED, or the token's USER_PIN_LOCKED flag). */
  'CERTLOOP_PKCS11_PIN_LOCKED',
  /** The token will open no more sessions (CKR_SESSION_COUNT), or too many callers wait for one. */
  'CERTLOOP_PKCS11_SESSION_LIMIT',
  /** A key on the token that certloop will not sign with: extractable, not sensitive, not for signing, weak. */
  'CERTLOOP_PKCS11_KEY_REJECTED',
  /** Any other PKCS#11 failure; `details.ckr` names the return value. */
  'CERTLOOP_PKCS11_FAILED',

  // DER and PEM strictness

  // path validation: name constraints, key floors, revocation, PKCS#12
  'CERTLOOP_CHAIN_NAME_CONSTRAINTS',
  'CERTLOOP_CHAIN_NAME_CONSTRAINTS_UNSUPPORTED',
  'CERTLOOP_CHAIN_WEAK_KEY',
  'CERTLOOP_CHAIN_CRL_SIGNATURE_INVALID',
  'CERTLOOP_CHAIN_CRL_ISSUER_MISMATCH',
  'CERTLOOP_CHAIN_CRL_EXPIRED',
  'CERTLOOP_CRL_INVALID',
  'CERTLOOP_PKCS12_FAILED',

  // reliability: file store, clock, provider
  'CERTLOOP_CREDENTIAL_EXPIRED',
  'CERTLOOP_CREDENTIAL_EXPIRES_TOO_SOON',

  // relay (@certloop/agent-rotator)
  /**
   * The certificate a request would get is due for renewal as soon as it is issued (its lifetime is too short for
   * the CA's backdate and the agent's grace ratio, or the CA's own notAfter cuts it): refused rather than issued.
   */
  'CERTLOOP_LIFETIME_TOO_SHORT',

  // command line (certloop)
  'CERTLOOP_USAGE',
  'CERTLOOP_FILE_UNREADABLE',
  'CERTLOOP_FILE_EXISTS',
  'CERTLOOP_CHECK_FAILED',

  // CA rotation (`ca-rotation/`)
  /** A rotation step was refused; `details.refusal` says why (a `CaRotationRefusal`), `details.hint` what to do. */
  'CERTLOOP_CA_ROTATION_REFUSED',
  /** The `serverSigner` signed the server certificate under another CA than the signing CA the backend has in force. */
  'CERTLOOP_CA_ROTATION_SIGNER_MISMATCH',
  /**
   * An agent did not adopt the trust bundle its relay server sent; `details.refusal` says why (`unreadable`,
   * `not-a-ca`, `locks-out`, `no-server-certificate`, `bring-your-own`).
   */
  'CERTLOOP_TRUST_BUNDLE_REFUSED',
] as const;

/** The union of stable error codes, so `switch (err.code)` narrows. */
export type CertloopErrorCode = (typeof ERROR_CODES)[number];

export interface CertloopErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Machine-readable facts about the failure (never secrets). */
  details?: Readonly<Record<string, unknown>>;
}

/** The base of every error certloop throws on purpose. */
export class CertloopError extends Error {
  override readonly name: string = 'CertloopError';
  readonly code: CertloopErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: CertloopErrorCode, message: string, options: CertloopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** True when `err` is a {@link CertloopError}, and, when `code` is given, carries that code. */
export function isCertloopError(err: unknown, code?: CertloopErrorCode): err is CertloopError {
  return err instanceof CertloopError && (code === undefined || err.code === code);
}

/** The error an aborted wait rejects with: `CERTLOOP_ABORTED`, with the signal's reason as cause. */
export function abortError(signal: AbortSignal | undefined): CertloopError {
  return new CertloopError('CERTLOOP_ABORTED', 'the operation was aborted', { cause: signal?.reason });
}

/** Throws {@link abortError} when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
