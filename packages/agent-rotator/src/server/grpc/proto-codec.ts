/**
 * `@certloop/agent-rotator` lean gRPC server: a method's protobuf codec from `@grpc/proto-loader`'s definition of
 * the shipped `.proto` (protobufjs underneath: the same message objects grpc-js's server gave the handlers).
 *
 * Requests are decoded from a plain `Uint8Array` view, not a `Buffer`: protobufjs's Buffer reader clamps a string
 * field whose length runs past the message (a truncated or forged frame would decode as a shorter string), its
 * generic reader refuses it. A message that does not decode is the server's INTERNAL.
 */
import type { MessageCodec } from './server.js';

export interface ProtoMethod {
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(message: never): Buffer;
}

export function protoCodec<Req, Res>(method: ProtoMethod): MessageCodec<Req, Res> {
  return {
    decode: (bytes) =>
      method.requestDeserialize(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) as Buffer) as Req,
    encode: (message) => method.responseSerialize(message as never),
  };
}
