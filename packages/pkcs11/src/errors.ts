/**
 * `@certloop/pkcs11` errors: PKCS#11 return values (CKR_*) to certloop's typed codes. A PKCS#11 failure never
 * carries a PIN: pkcs11js reports only the CKR name, its number and the function that returned it, and certloop
 * adds the attribute names and labels it was looking for, never a value of `pin-value` or a PIN file's content.
 */
import { CertloopError, type CertloopErrorCode } from '@certloop/core';

/** What pkcs11js throws for a CKR_* return value: `message` is the CKR name, `code` its number. */
interface Pkcs11NativeError {
  readonly name: string;
  readonly message: string;
  readonly code?: number;
  readonly method?: string;
}

const BY_CKR: Readonly<Record<string, CertloopErrorCode>> = {
  CKR_PIN_INCORRECT: 'CERTLOOP_PKCS11_PIN_INCORRECT',
  CKR_PIN_INVALID: 'CERTLOOP_PKCS11_PIN_INCORRECT',
  CKR_PIN_LEN_RANGE: 'CERTLOOP_PKCS11_PIN_INCORRECT',
  CKR_PIN_LOCKED: 'CERTLOOP_PKCS11_PIN_LOCKED',
  CKR_PIN_EXPIRED: 'CERTLOOP_PKCS11_PIN_LOCKED',
  CKR_SESSION_COUNT: 'CERTLOOP_PKCS11_SESSION_LIMIT',
  CKR_TOKEN_NOT_PRESENT: 'CERTLOOP_PKCS11_TOKEN_NOT_FOUND',
  CKR_TOKEN_NOT_RECOGNIZED: 'CERTLOOP_PKCS11_TOKEN_NOT_FOUND',
  CKR_SLOT_ID_INVALID: 'CERTLOOP_PKCS11_TOKEN_NOT_FOUND',
  CKR_DEVICE_REMOVED: 'CERTLOOP_PKCS11_TOKEN_NOT_FOUND',
  CKR_OBJECT_HANDLE_INVALID: 'CERTLOOP_PKCS11_OBJECT_NOT_FOUND',
  CKR_KEY_HANDLE_INVALID: 'CERTLOOP_PKCS11_OBJECT_NOT_FOUND',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'CERTLOOP_PKCS11_KEY_REJECTED',
  CKR_KEY_TYPE_INCONSISTENT: 'CERTLOOP_PKCS11_KEY_REJECTED',
  CKR_MECHANISM_INVALID: 'CERTLOOP_PKCS11_KEY_REJECTED',
  CKR_ATTRIBUTE_SENSITIVE: 'CERTLOOP_PKCS11_KEY_REJECTED',
};

/** CKR values after which a session is not given back to the pool. */
export const BROKEN_SESSION = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_USER_NOT_LOGGED_IN',
]);

/** The CKR_* name of a pkcs11js error, or undefined for anything else. */
export function ckrOf(err: unknown): string | undefined {
  const message = (err as Partial<Pkcs11NativeError> | null)?.message;
  if (typeof message !== 'string') return undefined;
  const match = /^(CKR_[A-Z0-9_]+)/.exec(message);
  return match?.[1];
}

/**
 * The typed error for a PKCS#11 failure during `operation` (e.g. `C_Login`). Anything already a CertloopError
 * passes through; a CKR certloop classifies gets its code, any other `CERTLOOP_PKCS11_FAILED` with `details.ckr`.
 */
export function pkcs11Error(err: unknown, operation: string, details: Record<string, unknown> = {}): CertloopError {
  if (err instanceof CertloopError) return err;
  const ckr = ckrOf(err);
  const code = (ckr && BY_CKR[ckr]) || 'CERTLOOP_PKCS11_FAILED';
  // the cause keeps pkcs11js's error, which holds only the CKR name, its number and the native stack
  return new CertloopError(code, `PKCS#11 ${operation} failed${ckr ? ` with ${ckr}` : ''}`, {
    cause: err,
    details: { ...details, operation, ...(ckr ? { ckr } : {}) },
  });
}
