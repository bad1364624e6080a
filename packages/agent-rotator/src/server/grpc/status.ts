/**
 * `@certloop/agent-rotator` lean gRPC server: status codes and the status a call ends with.
 *
 * The codes are gRPC's (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). A status travels in the
 * trailers `grpc-status` and `grpc-message`; the message is percent-encoded as the HTTP/2 transport spec says
 * (every byte of its UTF-8 outside 0x20-0x7E, and `%` itself, as `%XX`). Extra trailers (certloop's
 * `certloop-error-code`) ride beside them.
 */

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** The status a call ends with: code, message, extra trailers (lower-case ASCII names and values). */
export interface CallStatus {
  readonly code: GrpcStatusCode;
  readonly details: string;
  readonly trailers?: Readonly<Record<string, string>> | undefined;
}

/** A handler's refusal: thrown (or passed to `fail`) to end the call with this status. */
export class GrpcStatusError extends Error implements CallStatus {
  readonly code: GrpcStatusCode;
  readonly details: string;
  readonly trailers: Readonly<Record<string, string>> | undefined;
  constructor(code: GrpcStatusCode, details: string, trailers?: Readonly<Record<string, string>>) {
    super(details);
    this.name = 'GrpcStatusError';
    this.code = code;
    this.details = details;
    this.trailers = trailers;
  }
}

export function isCallStatus(value: unknown): value is CallStatus {
  const v = value as Partial<CallStatus> | null;
  return typeof v?.code === 'number' && typeof v.details === 'string';
}

const HEX = '0123456789ABCDEF';

/** `grpc-message` encoding: UTF-8, then every byte outside 0x20-0x7E and `%` as `%XX`. */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${HEX[byte >> 4]}${HEX[byte & 15]}` : String.fromCharCode(byte);
  }
  return out;
}

/** The inverse of {@link encodeGrpcMessage}; malformed escapes are kept as they are. */
export function decodeGrpcMessage(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && i + 2 < encoded.length && /^[0-9A-Fa-f]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
