/**
 * `certloop` errors and exit statuses: every failure is one line (the certloop code, what went wrong, what to do),
 * and every code maps to one documented exit status.
 */
import { CertloopError, type CertloopErrorCode, isCertloopError } from '@certloop/core';

/** The command's exit statuses (documented in the package README). */
export const EXIT = {
  /** Everything worked and every checked secret is usable. */
  ok: 0,
  /** A check failed: `status` found a secret expired, invalid, missing or not yet valid; `inspect --trust` failed. */
  checkFailed: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** An input file could not be read, or is not a valid certificate, CSR or key. */
  input: 3,
  /** The store or the CA cannot be reached or read (I/O, network, authentication, permission). */
  unavailable: 4,
  /** Refused: CA policy, bring-your-own secret, a conflicting write, an output file that exists. */
  refused: 5,
  /** The feature is not available in this build (a store or CA kind still to come). */
  notImplemented: 6,
  /** An unexpected failure: a bug. Run with --debug and report it. */
  internal: 70,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Partial<Record<CertloopErrorCode, ExitStatus>> = {
  CERTLOOP_USAGE: EXIT.usage,
  CERTLOOP_INVALID_ARGUMENT: EXIT.usage,
  CERTLOOP_INVALID_CONFIG: EXIT.usage,
  CERTLOOP_INVALID_NAME: EXIT.usage,
  CERTLOOP_FILE_UNREADABLE: EXIT.input,
  CERTLOOP_INVALID_PEM: EXIT.input,
  CERTLOOP_INVALID_DER: EXIT.input,
  CERTLOOP_INPUT_TOO_LARGE: EXIT.input,
  CERTLOOP_UNSUPPORTED_ALGORITHM: EXIT.input,
  CERTLOOP_INVALID_KEY: EXIT.input,
  CERTLOOP_KEY_MISMATCH: EXIT.input,
  CERTLOOP_CSR_INVALID: EXIT.input,
  CERTLOOP_CSR_SIGNATURE_INVALID: EXIT.input,
  CERTLOOP_STORE_IO: EXIT.unavailable,
  CERTLOOP_STORE_CORRUPT: EXIT.unavailable,
  CERTLOOP_UNAVAILABLE: EXIT.unavailable,
  CERTLOOP_UNAUTHENTICATED: EXIT.unavailable,
  CERTLOOP_FORBIDDEN: EXIT.unavailable,
  CERTLOOP_TIMEOUT: EXIT.unavailable,
  CERTLOOP_RATE_LIMITED: EXIT.unavailable,
  CERTLOOP_LOCK_TIMEOUT: EXIT.unavailable,
  CERTLOOP_WATCH_FAILED: EXIT.unavailable,
  CERTLOOP_NOT_IMPLEMENTED: EXIT.notImplemented,
  CERTLOOP_CHECK_FAILED: EXIT.checkFailed,
  CERTLOOP_PKCS11_URI_INVALID: EXIT.usage,
  CERTLOOP_PKCS11_MODULE_NOT_FOUND: EXIT.unavailable,
  CERTLOOP_PKCS11_MODULE_UNLOADABLE: EXIT.unavailable,
  CERTLOOP_PKCS11_TOKEN_NOT_FOUND: EXIT.unavailable,
  CERTLOOP_PKCS11_OBJECT_NOT_FOUND: EXIT.unavailable,
  CERTLOOP_PKCS11_PIN_INCORRECT: EXIT.unavailable,
  CERTLOOP_PKCS11_PIN_LOCKED: EXIT.unavailable,
  CERTLOOP_PKCS11_SESSION_LIMIT: EXIT.unavailable,
  CERTLOOP_PKCS11_FAILED: EXIT.unavailable,
};

/** The exit status for an error: by its code, `refused` for other certloop codes, `internal` for anything else. */
export function exitStatusOf(err: unknown): ExitStatus {
  if (!isCertloopError(err)) return EXIT.internal;
  if (err.code.startsWith('CERTLOOP_CHAIN_')) return EXIT.checkFailed;
  return BY_CODE[err.code] ?? EXIT.refused;
}

/** What to do, by code, when the error itself carries no `hint`. */
const HINTS: Partial<Record<CertloopErrorCode, string>> = {
  CERTLOOP_USAGE: 'see --help for the flags and examples',
  CERTLOOP_INVALID_ARGUMENT: 'see --help for the accepted values',
  CERTLOOP_INVALID_CONFIG: 'see --help for the accepted values',
  CERTLOOP_FILE_UNREADABLE: 'check the path and that you may read it',
  CERTLOOP_INVALID_PEM: 'give a PEM file (-----BEGIN ...-----) or DER',
  CERTLOOP_INVALID_DER: 'the file is damaged or not a certificate, CSR or key',
  CERTLOOP_INVALID_KEY: 'give an unencrypted PKCS#8, PKCS#1 or SEC1 private key',
  CERTLOOP_STORE_IO: 'check --dir and the permissions on it',
  CERTLOOP_UNAVAILABLE: 'check that the store or CA is reachable and the flags that name it',
  CERTLOOP_NOT_FOUND: 'run `certloop status` to see what the store holds, or `certloop init` to create it',
  CERTLOOP_READ_ONLY: 'renew it with the tool that owns it (cert-manager, or whoever brought it)',
  CERTLOOP_FILE_EXISTS: 'choose another path or pass --force to replace it',
  CERTLOOP_CONFLICT: 'someone else wrote it meanwhile: run the command again',
  CERTLOOP_NOT_IMPLEMENTED: 'use --store file and --ca local for now',
  CERTLOOP_CHECK_FAILED: '`certloop status` says what to do for each secret',
  CERTLOOP_POLICY_LIFETIME_EXCEEDED: 'pass a --lifetime within the maximum',
  CERTLOOP_POLICY_KEY_REJECTED: 'use an ECDSA P-256/P-384 key, Ed25519, or RSA of 2048 bits or more (--key-algorithm)',
  CERTLOOP_POLICY_NAME_REJECTED: "name only what the signing CA's policy and name constraints allow",
  CERTLOOP_POLICY_PROFILE_REJECTED: 'pick a --profile the signing CA issues: server, client or server+client',
  CERTLOOP_CA_EXPIRES_TOO_SOON:
    'ask for a shorter --lifetime, or rotate the signing CA first (`certloop rotate signing`)',
  CERTLOOP_CHAIN_EXPIRED: 'renew it: `certloop rotate ROLE` for a managed secret, the owner’s tool otherwise',
  CERTLOOP_CHAIN_NOT_YET_VALID: "check this machine's clock (date -u), or wait until its notBefore",
  CERTLOOP_KEY_MISMATCH: 'give the key the certificate was issued for (or re-issue with `certloop rotate ROLE`)',
  CERTLOOP_TOKEN_INVALID: 'give the token in relay-identity-token-secret (`certloop rotate token` makes a new one)',
  CERTLOOP_LOCK_TIMEOUT: 'another certloop is writing the store: wait and run the command again',
  CERTLOOP_PKCS11_URI_INVALID:
    'write it as pkcs11:token=NAME;object=LABEL?module-path=/path/module.so&pin-source=/path/pin',
  CERTLOOP_PKCS11_MODULE_NOT_FOUND: 'check module-path in the pkcs11: URI (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)',
  CERTLOOP_PKCS11_TOKEN_NOT_FOUND: 'check token= in the pkcs11: URI (pkcs11-tool --list-slots shows the tokens)',
  CERTLOOP_PKCS11_OBJECT_NOT_FOUND:
    'check object= in the pkcs11: URI, or make the keys with `certloop init --key-store pkcs11`',
  CERTLOOP_PKCS11_PIN_INCORRECT:
    'check the PIN in pin-source (or CERTLOOP_PKCS11_PIN); the token may lock after more tries',
  CERTLOOP_PKCS11_PIN_LOCKED: "the token's user PIN is locked: unlock it with the SO PIN (token tools), then retry",
  CERTLOOP_PKCS11_KEY_REJECTED: 'certloop signs only with sensitive, non-extractable P-256, P-384 or RSA >= 2048 keys',
};

/** A certloop error with a `hint` (what to do) in its details. */
export function cliError(code: CertloopErrorCode, message: string, hint?: string, cause?: unknown): CertloopError {
  return new CertloopError(code, message, { cause, details: hint ? { hint } : undefined });
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

/** The one line shown for an error: `certloop: CODE: what went wrong; what to do`. */
export function formatError(err: unknown): string {
  if (isCertloopError(err)) {
    const hint = typeof err.details?.hint === 'string' ? err.details.hint : HINTS[err.code];
    return `certloop: ${err.code}: ${oneLine(err.message).replace(/\.$/, '')}${hint ? `; ${hint}` : ''}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `certloop: internal error: ${oneLine(message)}; run again with --debug and report it`;
}

/** The stack of an error and of each cause, for --debug. */
export function formatDebug(err: unknown): string {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    if (depth > 0) lines.push('caused by:');
    lines.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    if (isCertloopError(current) && current.details) lines.push(`details: ${JSON.stringify(current.details)}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.join('\n');
}
