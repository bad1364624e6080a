/**
 * Refusals on the wire: certloop codes to gRPC statuses, and back from a status and its trailer.
 */

import { CertloopError } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { refusalStatus } from '../server/refusal.js';
import { ERROR_CODE_TRAILER, fromServiceError, statusForCode } from './status.js';

describe('relay statuses', () => {
  it.each([
    ['CERTLOOP_TOKEN_INVALID', 'UNAUTHENTICATED'],
    ['CERTLOOP_UNAUTHENTICATED', 'UNAUTHENTICATED'],
    ['CERTLOOP_CHAIN_EXPIRED', 'UNAUTHENTICATED'],
    ['CERTLOOP_CHAIN_EXT_KEY_USAGE', 'UNAUTHENTICATED'],
    ['CERTLOOP_CSR_IDENTITY_MISMATCH', 'PERMISSION_DENIED'],
    ['CERTLOOP_POLICY_KEY_REJECTED', 'PERMISSION_DENIED'],
    ['CERTLOOP_FORBIDDEN', 'PERMISSION_DENIED'],
    ['CERTLOOP_INPUT_TOO_LARGE', 'INVALID_ARGUMENT'],
    ['CERTLOOP_CSR_INVALID', 'INVALID_ARGUMENT'],
    ['CERTLOOP_RATE_LIMITED', 'RESOURCE_EXHAUSTED'],
    ['CERTLOOP_CA_EXPIRES_TOO_SOON', 'UNAVAILABLE'],
    ['CERTLOOP_UNAVAILABLE', 'UNAVAILABLE'],
  ] as const)('%s is refused with %s', (code, status) => {
    expect(grpc.status[statusForCode(code)]).toBe(status);
  });

  it('round-trips the code through the trailer, and falls back on the status without one', () => {
    // what the server sends (status, message, trailer), as a grpc-js client receives it
    const sent = refusalStatus(new CertloopError('CERTLOOP_CSR_IDENTITY_MISMATCH', 'no'));
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(sent.trailers ?? {})) metadata.set(key, value);
    const back = fromServiceError({ code: sent.code, details: sent.details, metadata, message: 'x', name: 'Error' });
    expect(back.code).toBe('CERTLOOP_CSR_IDENTITY_MISMATCH');
    expect(back.details).toEqual({ grpcStatus: grpc.status.PERMISSION_DENIED });
    const bare = fromServiceError({ code: grpc.status.RESOURCE_EXHAUSTED, metadata: new grpc.Metadata() });
    expect(bare.code).toBe('CERTLOOP_RATE_LIMITED');
    const forged = new grpc.Metadata();
    forged.set(ERROR_CODE_TRAILER, 'NOT_A_CERTLOOP_CODE');
    expect(fromServiceError({ code: grpc.status.UNAVAILABLE, metadata: forged }).code).toBe('CERTLOOP_UNAVAILABLE');
  });
});
