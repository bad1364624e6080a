/**
 * `@certloop/agent-rotator` refusals as the lean gRPC server sends them: a `CertloopError` becomes the gRPC status
 * `statusForCode` gives, with `CODE: message` as its message and the code in the trailer `certloop-error-code`
 * (what agents read back with `fromServiceError`). The same statuses and trailers as with grpc-js's server.
 */
import type { CertloopError } from '@certloop/core';
import { ERROR_CODE_TRAILER, statusForCode } from '../shared/status.js';
import { type GrpcStatusCode, GrpcStatusError } from './grpc/status.js';

/** The status a refusal ends its call with. */
export function refusalStatus(err: CertloopError): GrpcStatusError {
  return new GrpcStatusError(statusForCode(err.code) as number as GrpcStatusCode, `${err.code}: ${err.message}`, {
    [ERROR_CODE_TRAILER]: err.code,
  });
}
