/**
 * `@certloop/agent-rotator` lean gRPC server: length-prefixed messages (gRPC over HTTP/2: a 1-byte compressed flag,
 * a 4-byte big-endian length, the message).
 *
 * `MessageReader` takes the request body in whatever chunks HTTP/2 delivers and gives whole messages. It refuses,
 * before buffering a byte of the message, one longer than the limit (RESOURCE_EXHAUSTED), and a compressed
 * message or an unknown flag (INTERNAL: the server accepts only the identity encoding, which it says in
 * `grpc-accept-encoding`). A body that ends inside a message is INTERNAL (`truncated`).
 */
import { GrpcStatus, GrpcStatusError } from './status.js';

const HEADER = 5;

/** One message framed for the wire. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, HEADER);
  return out;
}

export class MessageReader {
  readonly #maxBytes: number;
  /** Chunks of a message not yet whole (allocated when one is split: most messages arrive in one chunk). */
  #pending: Buffer[] | undefined;
  #pendingBytes = 0;
  /** Length of the message being read (after its header), or -1 while reading a header. */
  #length = -1;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** True while part of a message (or of its header) has arrived and the rest has not. */
  get partial(): boolean {
    return this.#pendingBytes > 0 || this.#length >= 0;
  }

  /** Adds a chunk; returns the messages it completes. Throws `GrpcStatusError` on a refused frame. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = chunk;
    if (this.#pending) {
      this.#pending.push(chunk);
      data = Buffer.concat(this.#pending, this.#pendingBytes + chunk.length);
      this.#pending = undefined;
      this.#pendingBytes = 0;
    }
    let at = 0;
    for (;;) {
      if (this.#length < 0) {
        if (data.length - at < HEADER) break;
        const flag = data[at]!;
        if (flag !== 0) {
          throw new GrpcStatusError(
            GrpcStatus.INTERNAL,
            flag === 1 ? 'compressed messages are not accepted (identity encoding only)' : 'invalid message flag',
          );
        }
        const length = data.readUInt32BE(at + 1);
        if (length > this.#maxBytes) {
          throw new GrpcStatusError(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `received message larger than max (${length} vs. ${this.#maxBytes})`,
          );
        }
        this.#length = length;
        at += HEADER;
      }
      if (data.length - at < this.#length) break;
      out.push(data.subarray(at, at + this.#length));
      at += this.#length;
      this.#length = -1;
    }
    if (at < data.length) {
      const rest = data.subarray(at);
      this.#pending = [rest];
      this.#pendingBytes = rest.length;
    }
    return out;
  }
}
