/**
 * `@certloop/agent-rotator` refusals on the wire: a `CertloopError` becomes a gRPC status with the certloop code in
 * the trailer `certloop-error-code`, and back. Messages are certloop's own (never tokens, keys or CSRs).
 */

import { CertloopError, type CertloopErrorCode, ERROR_CODES, isCertloopError } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';

/** The trailer carrying the certloop error code of a refusal. */
export const ERROR_CODE_TRAILER = 'certloop-error-code';

const UNAUTHENTICATED = new Set<CertloopErrorCode>(['CERTLOOP_UNAUTHENTICATED', 'CERTLOOP_TOKEN_INVALID']);
const PERMISSION_DENIED = new Set<CertloopErrorCode>(['CERTLOOP_CSR_IDENTITY_MISMATCH', 'CERTLOOP_FORBIDDEN']);
const INVALID_ARGUMENT = new Set<CertloopErrorCode>([
  'CERTLOOP_INVALID_ARGUMENT',
  'CERTLOOP_INPUT_TOO_LARGE',
  'CERTLOOP_INVALID_PEM',
  'CERTLOOP_INVALID_DER',
  'CERTLOOP_UNSUPPORTED_ALGORITHM',
  'CERTLOOP_INVALID_KEY',
  'CERTLOOP_CSR_INVALID',
  'CERTLOOP_CSR_SIGNATURE_INVALID',
]);

/** The gRPC status a certloop code is refused with. */
export function statusForCode(code: CertloopErrorCode): grpc.status {
  if (UNAUTHENTICATED.has(code) || code.startsWith('CERTLOOP_CHAIN_')) return grpc.status.UNAUTHENTICATED;
  if (PERMISSION_DENIED.has(code) || code.startsWith('CERTLOOP_POLICY_')) return grpc.status.PERMISSION_DENIED;
  if (INVALID_ARGUMENT.has(code)) return grpc.status.INVALID_ARGUMENT;
  if (code === 'CERTLOOP_RATE_LIMITED') return grpc.status.RESOURCE_EXHAUSTED;
  if (code === 'CERTLOOP_LIFETIME_TOO_SHORT') return grpc.status.FAILED_PRECONDITION;
  return grpc.status.UNAVAILABLE;
}

/** Any error as the certloop error the server refuses with (unknown errors become `CERTLOOP_UNAVAILABLE`). */
export function asRefusal(err: unknown): CertloopError {
  if (isCertloopError(err)) return err;
  return new CertloopError('CERTLOOP_UNAVAILABLE', 'the relay server failed to handle the call', { cause: err });
}

const KNOWN = new Set<string>(ERROR_CODES);

function codeOfStatus(status: grpc.status): CertloopErrorCode {
  switch (status) {
    case grpc.status.UNAUTHENTICATED:
      return 'CERTLOOP_UNAUTHENTICATED';
    case grpc.status.PERMISSION_DENIED:
      return 'CERTLOOP_FORBIDDEN';
    case grpc.status.INVALID_ARGUMENT:
      return 'CERTLOOP_INVALID_ARGUMENT';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'CERTLOOP_RATE_LIMITED';
    case grpc.status.DEADLINE_EXCEEDED:
      return 'CERTLOOP_TIMEOUT';
    case grpc.status.CANCELLED:
      return 'CERTLOOP_ABORTED';
    default:
      return 'CERTLOOP_UNAVAILABLE';
  }
}

/**
 * A gRPC error as a `CertloopError`: the trailer's code when the server sent one, else a code for the status.
 * `details.grpcStatus` keeps the status number.
 */
export function fromServiceError(err: unknown): CertloopError {
  if (isCertloopError(err)) return err;
  const e = err as Partial<grpc.ServiceError>;
  const status = typeof e.code === 'number' ? e.code : grpc.status.UNKNOWN;
  const trailer = e.metadata?.get(ERROR_CODE_TRAILER)[0];
  const code =
    typeof trailer === 'string' && KNOWN.has(trailer) ? (trailer as CertloopErrorCode) : codeOfStatus(status);
  return new CertloopError(code, `the relay refused the call (${grpc.status[status] ?? status})`, {
    cause: err,
    details: { grpcStatus: status },
  });
}
