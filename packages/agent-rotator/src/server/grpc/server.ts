/**
 * `@certloop/agent-rotator` lean gRPC server: gRPC over `node:http2` for the relay's methods, with nothing more per
 * call than the protocol needs (one object per call, no per-call metadata objects, interceptors, channelz or
 * per-session timers). Clients are any gRPC clients (the agents use grpc-js).
 *
 * Contract, per the gRPC over HTTP/2 spec (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * - Requests are `POST` with a `content-type` of `application/grpc` (optionally `+proto` or `;...`): another method
 *   is answered HTTP 405, another content type HTTP 415, both with a `grpc-status` of INTERNAL too.
 * - An unknown path is UNIMPLEMENTED; a `grpc-encoding` other than identity is UNIMPLEMENTED (with
 *   `grpc-accept-encoding: identity`); a compressed or badly flagged message INTERNAL.
 * - A message longer than `maxReceiveMessageBytes` is RESOURCE_EXHAUSTED before it is buffered; one the codec
 *   cannot read, or a body that ends inside a message, is INTERNAL; a unary call with no message or more than one
 *   is UNIMPLEMENTED (as grpc-js says).
 * - `grpc-timeout` sets the call's deadline: past it the call ends with DEADLINE_EXCEEDED (and a streaming call is
 *   closed, `onClose`); a malformed value is INTERNAL.
 * - Every call ends with `grpc-status` and a percent-encoded `grpc-message` in trailers (trailers-only when nothing
 *   was sent), plus the status's extra trailers. A handler's error that is not a status is UNKNOWN, its message not
 *   sent. A trailers-only status given while the client is still sending is followed by RST_STREAM NO_ERROR.
 * - A client that resets its stream (or drops the connection) cancels the call: a unary result is dropped, a
 *   streaming call's `onClose` runs; nothing is kept.
 * - HTTP/2 PINGs are answered by `node:http2`; `maxConcurrentStreams` is announced in SETTINGS and enforced by it.
 * - ALPN selects h2; a client offering ALPN without h2 is refused in the handshake (no_application_protocol).
 * - No HPACK dynamic table either way (SETTINGS_HEADER_TABLE_SIZE 0 is announced): headers are sent literally.
 * - `close(graceMs)` stops accepting, sends GOAWAY on every connection (open calls may finish), and destroys what
 *   is left after the grace.
 * TLS: the secure context is the caller's (`setSecureContext` replaces it for new handshakes and keeps the session
 * ticket keys, so tickets issued before a certificate reload still resume; open connections are untouched).
 */
import {
  constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { frameMessage, MessageReader } from './framing.js';
import { type CallStatus, encodeGrpcMessage, GrpcStatus, GrpcStatusError, isCallStatus } from './status.js';
import { parseGrpcTimeout } from './timeout.js';

/** Reads requests and writes responses of one method (e.g. protobuf, from the .proto). */
export interface MessageCodec<Req, Res> {
  decode(bytes: Buffer): Req;
  encode(message: Res): Uint8Array;
}

/** What grpc-js's `call.getAuthContext()` gives: the verified peer certificate, when TLS verified one. */
export interface CallAuth {
  readonly sslPeerCertificate?: { readonly raw: Buffer } | undefined;
}

/** One call as a handler sees it. */
export interface ServerCall {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** The peer's IP address (no port). */
  readonly peer: string;
  /** The TLS connection the call rides on. */
  readonly socket: TLSSocket | undefined;
  /** Epoch milliseconds after which the call ends with DEADLINE_EXCEEDED (from `grpc-timeout`), if any. */
  readonly deadline: number | undefined;
  /** True once the client reset the call, the deadline passed, or the server closed it before it ended. */
  readonly cancelled: boolean;
  /** The client certificate TLS verified (empty when there is none or TLS refused it). */
  getAuthContext(): CallAuth;
}

/** A bidirectional streaming call. Set the callbacks synchronously in the handler. */
export interface BidiCall<Req, Res> extends ServerCall {
  /** Each request message, in order. */
  onMessage: ((message: Req) => void) | undefined;
  /** The client finished sending (the call is still open until `end`). */
  onHalfClose: (() => void) | undefined;
  /** The call is over, whichever side ended it (called once). */
  onClose: (() => void) | undefined;
  /** Sends a message (ignored once the call ended). */
  write(message: Res): void;
  /** Ends the call with `status` (default OK). Idempotent. */
  end(status?: CallStatus): void;
}

export type UnaryHandler<Req, Res> = (request: Req, call: ServerCall) => Promise<Res>;
export type BidiHandler<Req, Res> = (call: BidiCall<Req, Res>) => void;

type Method =
  | {
      readonly kind: 'unary';
      readonly path: string;
      readonly codec: MessageCodec<unknown, unknown>;
      readonly handler: UnaryHandler<unknown, unknown>;
    }
  | {
      readonly kind: 'bidi';
      readonly path: string;
      readonly codec: MessageCodec<unknown, unknown>;
      readonly handler: BidiHandler<unknown, unknown>;
    };

export interface LeanGrpcServerOptions {
  /** Key, certificate, roots for client certificates, TLS versions: `tls.createSecureContext` options. */
  readonly tls: SecureContextOptions;
  /** Ask for a client certificate without requiring one (default true). */
  readonly requestCert?: boolean;
  /** Largest request message (default 4 MiB). */
  readonly maxReceiveMessageBytes?: number;
  /** Largest response message (default 4 MiB). */
  readonly maxSendMessageBytes?: number;
  /** Streams open at once per connection, announced in SETTINGS (default 256). */
  readonly maxConcurrentStreams?: number;
}

const MIB = 1024 * 1024;
/**
 * HPACK dynamic tables, both ways (SETTINGS_HEADER_TABLE_SIZE for what clients send, the encoder's for what the
 * server sends): none (size 0). Each held connection keeps its tables for its whole life (nghttp2 holds every
 * indexed header: grpc-js's user-agent, te, grpc-accept-encoding...), while a relay connection carries two calls'
 * headers and then heartbeats only, so indexing saves a few hundred bytes per connection on the wire once and
 * costs about 1.5 KiB of native memory per held connection (heap snapshot, 2,000 held relay streams).
 */
const HPACK_TABLE_BYTES = 0;
const noop = () => undefined;
const RESPONSE_HEADERS: OutgoingHttpHeaders = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': '' };

/**
 * ALPN: h2 or nothing (a client that offers ALPN without h2 gets TLS's no_application_protocol alert). A callback
 * rather than `ALPNProtocols`: with a list, Node copies it into a small Buffer for every connection and keeps that
 * on the socket for its whole life, a slice of a shared 8 KiB pool slab, so held connections pin slabs (measured:
 * about 1.8 KiB of RSS per held relay stream).
 */
function selectH2({ protocols }: { protocols: string[] }): string | undefined {
  return protocols.includes('h2') ? 'h2' : undefined;
}

function isGrpcContentType(type: string | undefined): boolean {
  if (typeof type !== 'string' || !type.startsWith('application/grpc')) return false;
  const c = type.charCodeAt(16);
  return type.length === 16 || c === 0x2b /* + */ || c === 0x3b /* ; */;
}

function statusTrailers(status: CallStatus): OutgoingHttpHeaders {
  return {
    ...status.trailers,
    'grpc-status': String(status.code),
    'grpc-message': encodeGrpcMessage(status.details),
  };
}

/** An answer that is not gRPC at all (wrong method or content type): an HTTP status, with a grpc-status for clients that read one. */
function refuseHttp(stream: ServerHttp2Stream, httpStatus: number, details: string): void {
  try {
    stream.respond(
      {
        ':status': httpStatus,
        'grpc-status': String(GrpcStatus.INTERNAL),
        'grpc-message': encodeGrpcMessage(details),
      },
      { endStream: true },
    );
  } catch {
    // the stream is already gone
  }
  if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
}

class Call implements BidiCall<unknown, unknown> {
  onMessage: ((message: unknown) => void) | undefined;
  onHalfClose: (() => void) | undefined;
  onClose: (() => void) | undefined;
  readonly path: string;
  readonly peer: string;
  readonly socket: TLSSocket | undefined;
  readonly deadline: number | undefined;
  cancelled = false;
  readonly #server: LeanGrpcServer;
  readonly #stream: ServerHttp2Stream;
  readonly #method: Method;
  readonly #reader: MessageReader;
  #timer: NodeJS.Timeout | undefined;
  #headersSent = false;
  #done = false;
  #closed = false;
  #request: Buffer | undefined;
  #requests = 0;
  #trailers: OutgoingHttpHeaders = OK_TRAILERS;

  constructor(server: LeanGrpcServer, stream: ServerHttp2Stream, method: Method, timeoutMs: number | undefined) {
    this.#server = server;
    this.#stream = stream;
    this.#method = method;
    // the registered path: one string for every call of the method, not a copy from each request's headers
    this.path = method.path;
    this.#reader = new MessageReader(server.maxReceiveMessageBytes);
    const socket = stream.session?.socket as TLSSocket | undefined;
    this.socket = socket;
    this.peer = socket?.remoteAddress ?? '';
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.cancelled = true;
        this.#finish({ code: GrpcStatus.DEADLINE_EXCEEDED, details: 'deadline exceeded' });
      }, timeoutMs);
    }
    stream.on('data', (chunk: Buffer) => this.#data(chunk));
    stream.on('end', () => this.#end());
    stream.on('close', () => this.#close());
  }

  /** Runs a streaming handler (before any message arrives: data events come later). */
  start(): void {
    if (this.#method.kind !== 'bidi') return;
    try {
      this.#method.handler(this);
    } catch (err) {
      this.#finish(this.#statusOf(err));
    }
  }

  getAuthContext(): CallAuth {
    const socket = this.socket;
    if (!socket?.authorized) return {};
    // getPeerCertificate's first call on a connection costs about half of getPeerX509Certificate's (measured)
    const raw = socket.getPeerCertificate().raw;
    return raw ? { sslPeerCertificate: { raw } } : {};
  }

  write(message: unknown): void {
    if (this.#done || this.#stream.destroyed) return;
    const bytes = this.#encode(message);
    if (!bytes) return;
    this.#sendHeaders();
    this.#stream.write(frameMessage(bytes));
  }

  end(status: CallStatus = { code: GrpcStatus.OK, details: '' }): void {
    this.#finish(status);
  }

  #encode(message: unknown): Uint8Array | undefined {
    let bytes: Uint8Array;
    try {
      bytes = this.#method.codec.encode(message);
    } catch {
      this.#finish({ code: GrpcStatus.INTERNAL, details: 'the response message could not be encoded' });
      return undefined;
    }
    if (bytes.length > this.#server.maxSendMessageBytes) {
      this.#finish({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `response message larger than max (${bytes.length} vs. ${this.#server.maxSendMessageBytes})`,
      });
      return undefined;
    }
    return bytes;
  }

  #sendHeaders(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    this.#stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  }

  /**
   * Ends the response body; the trailers follow (`wantTrailers` comes after the last DATA frame, so its listener
   * is added here, not with the headers: a held stream keeps no listener for it).
   */
  #endBody(bytes?: Buffer): void {
    const stream = this.#stream;
    stream.once('wantTrailers', () => {
      try {
        stream.sendTrailers(this.#trailers);
      } catch {
        // the stream was reset meanwhile
      }
    });
    if (bytes) stream.end(bytes);
    else stream.end();
  }

  #data(chunk: Buffer): void {
    if (this.#done) return;
    let messages: Buffer[];
    try {
      messages = this.#reader.push(chunk);
    } catch (err) {
      this.#finish(this.#statusOf(err));
      return;
    }
    for (const bytes of messages) {
      if (this.#done) return;
      if (this.#method.kind === 'unary') {
        this.#requests++;
        this.#request = bytes;
        continue;
      }
      let message: unknown;
      try {
        message = this.#method.codec.decode(bytes);
      } catch {
        this.#finish({ code: GrpcStatus.INTERNAL, details: 'the request message could not be decoded' });
        return;
      }
      try {
        this.onMessage?.(message);
      } catch (err) {
        this.#finish(this.#statusOf(err));
      }
    }
  }

  #end(): void {
    if (this.#done) return;
    if (this.#reader.partial) {
      this.#finish({ code: GrpcStatus.INTERNAL, details: 'the request ended inside a message (truncated)' });
      return;
    }
    const method = this.#method;
    if (method.kind === 'bidi') {
      try {
        this.onHalfClose?.();
      } catch (err) {
        this.#finish(this.#statusOf(err));
      }
      return;
    }
    if (this.#requests !== 1) {
      this.#finish({
        code: GrpcStatus.UNIMPLEMENTED,
        details: `a unary call takes exactly one request message (received ${this.#requests})`,
      });
      return;
    }
    let request: unknown;
    try {
      request = method.codec.decode(this.#request!);
    } catch {
      this.#finish({ code: GrpcStatus.INTERNAL, details: 'the request message could not be decoded' });
      return;
    }
    this.#request = undefined;
    let result: Promise<unknown>;
    try {
      result = method.handler(request, this);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (response) => this.#respond(response),
      (err) => this.#finish(this.#statusOf(err)),
    );
  }

  #respond(response: unknown): void {
    if (this.#done || this.#stream.destroyed) return;
    const bytes = this.#encode(response);
    if (!bytes) return;
    this.#done = true;
    this.#clearTimer();
    this.#sendHeaders();
    this.#endBody(frameMessage(bytes));
  }

  #statusOf(err: unknown): CallStatus {
    if (err instanceof GrpcStatusError || isCallStatus(err)) return err;
    return { code: GrpcStatus.UNKNOWN, details: 'the server failed to handle the call' };
  }

  #finish(status: CallStatus): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimer();
    const stream = this.#stream;
    if (!stream.destroyed && !stream.closed) {
      try {
        if (this.#headersSent) {
          this.#trailers = statusTrailers(status);
          this.#endBody();
        } else {
          this.#headersSent = true;
          stream.respond(
            { ':status': 200, 'content-type': 'application/grpc+proto', ...statusTrailers(status) },
            { endStream: true },
          );
          // the client is still sending: after the status, tell it to stop (RST_STREAM NO_ERROR, queued after the
          // HEADERS frame; with messages already sent the client ends the stream itself when it reads the status)
          if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
        }
      } catch {
        // the stream is already gone
      }
    }
    if (this.#method.kind === 'bidi' && this.cancelled) this.#close();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    if (!this.#done) {
      this.#done = true;
      this.cancelled = true;
    }
    const onClose = this.onClose;
    this.onMessage = this.onHalfClose = this.onClose = undefined;
    onClose?.();
  }
}

export class LeanGrpcServer {
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  readonly #methods = new Map<string, Method>();
  readonly #http2: Http2SecureServer;
  readonly #sessions = new Set<Http2Session>();
  /** Every accepted TCP connection until it closes, HTTP/2 session or not yet (a TLS handshake under way). */
  readonly #sockets = new Set<Socket>();
  #listening = false;
  #closing: Promise<void> | undefined;
  #shuttingDown = false;

  constructor(options: LeanGrpcServerOptions) {
    this.maxReceiveMessageBytes = options.maxReceiveMessageBytes ?? 4 * MIB;
    this.maxSendMessageBytes = options.maxSendMessageBytes ?? 4 * MIB;
    this.#http2 = createSecureServer({
      ...options.tls,
      requestCert: options.requestCert ?? true,
      rejectUnauthorized: false,
      allowHTTP1: false,
      ALPNCallback: selectH2,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 256, headerTableSize: HPACK_TABLE_BYTES },
      maxDeflateDynamicTableSize: HPACK_TABLE_BYTES,
      // a limit, not an allocation: Node's default (10 MiB) answers bursts on one connection with ENHANCE_YOUR_CALM
      maxSessionMemory: 64,
    });
    this.#http2.on('stream', (stream, headers) => this.#stream(stream, headers));
    // one listener for every session's 'close' (the emitter is `this`), not a closure per connection
    const sessions = this.#sessions;
    function forget(this: Http2Session): void {
      sessions.delete(this);
    }
    // a connection whose TLS handshake never ends is no session: tracked so close() can end it too
    const sockets = this.#sockets;
    function forgetSocket(this: Socket): void {
      sockets.delete(this);
    }
    this.#http2.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', forgetSocket);
    });
    this.#http2.on('session', (session) => {
      if (this.#shuttingDown) {
        session.destroy();
        return;
      }
      sessions.add(session);
      session.on('close', forget);
    });
    this.#http2.on('sessionError', noop);
  }

  /** Registers a unary method at `/package.Service/Method`. */
  addUnary<Req, Res>(path: string, codec: MessageCodec<Req, Res>, handler: UnaryHandler<Req, Res>): void {
    this.#methods.set(path, {
      kind: 'unary',
      path,
      codec: codec as MessageCodec<unknown, unknown>,
      handler: handler as UnaryHandler<unknown, unknown>,
    });
  }

  /** Registers a bidirectional streaming method at `/package.Service/Method`. */
  addBidi<Req, Res>(path: string, codec: MessageCodec<Req, Res>, handler: BidiHandler<Req, Res>): void {
    this.#methods.set(path, {
      kind: 'bidi',
      path,
      codec: codec as MessageCodec<unknown, unknown>,
      handler: handler as unknown as BidiHandler<unknown, unknown>,
    });
  }

  /** Listens on `host:port` (`[v6]:port` too; port 0 picks one). Resolves the bound port. */
  listen(address: string): Promise<number> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(address.slice(colon + 1));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#http2.once('error', onError);
      this.#http2.listen(port, host, () => {
        this.#http2.off('error', onError);
        this.#listening = true;
        resolve((this.#http2.address() as { port: number }).port);
      });
    });
  }

  /** New TLS material for new handshakes (the session ticket keys are kept). */
  setSecureContext(tls: SecureContextOptions): void {
    const keys = this.#http2.getTicketKeys();
    this.#http2.setSecureContext(tls);
    this.#http2.setTicketKeys(keys);
  }

  /** Open HTTP/2 connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Open TCP connections: the HTTP/2 ones and those still in their TLS handshake. */
  get sockets(): number {
    return this.#sockets.size;
  }

  /**
   * Stops accepting connections and sends GOAWAY on each open one: calls in flight may finish; after `graceMs` what
   * is left is destroyed. Resolves when every connection is closed. Idempotent.
   */
  close(graceMs: number): Promise<void> {
    this.#closing ??= (async () => {
      // stop accepting first: a client told GOAWAY reconnects at once, and a connection accepted after the snapshot
      // below would keep the listener open (sessions that still arrive are destroyed in the 'session' handler)
      this.#shuttingDown = true;
      const listening = this.#listening
        ? new Promise<void>((resolve) => this.#http2.close(() => resolve()))
        : Promise.resolve();
      const sessions = [...this.#sessions];
      // every session still in the set has yet to emit 'close' (its listener removes it first), also one already
      // closing or destroyed: wait for that event, not for the flags (Node 24's server close may begin closing
      // sessions itself, and their sockets end before the session's 'close' is emitted)
      const ended = sessions.map(
        (session) =>
          new Promise<void>((resolve) => {
            if (this.#sessions.has(session)) session.once('close', () => resolve());
            else resolve();
          }),
      );
      for (const session of sessions) if (!session.closed && !session.destroyed) session.close();
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        // connections still in their TLS handshake (or stalled in it) would hold the listener's close for good
        for (const socket of this.#sockets) socket.destroy();
      }, graceMs);
      await Promise.all([listening, ...ended]);
      clearTimeout(timer);
    })();
    return this.#closing;
  }

  #stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', noop);
    if (headers[':method'] !== 'POST') {
      refuseHttp(stream, 405, 'gRPC requests are POST');
      return;
    }
    if (!isGrpcContentType(headers['content-type'])) {
      refuseHttp(stream, 415, 'the content-type must be application/grpc');
      return;
    }
    const path = headers[':path'] ?? '';
    const method = this.#methods.get(path);
    if (!method) {
      this.#refuse(stream, { code: GrpcStatus.UNIMPLEMENTED, details: `unknown method ${path}` });
      return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      this.#refuse(stream, {
        code: GrpcStatus.UNIMPLEMENTED,
        details: `message encoding ${String(encoding)} is not supported (identity only)`,
        trailers: { 'grpc-accept-encoding': 'identity' },
      });
      return;
    }
    let timeoutMs: number | undefined;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      timeoutMs = parseGrpcTimeout(String(timeout));
      if (timeoutMs === undefined) {
        this.#refuse(stream, { code: GrpcStatus.INTERNAL, details: `invalid grpc-timeout ${String(timeout)}` });
        return;
      }
    }
    new Call(this, stream, method, timeoutMs).start();
  }

  /** A trailers-only refusal before any call exists. */
  #refuse(stream: ServerHttp2Stream, status: CallStatus): void {
    try {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc+proto', ...statusTrailers(status) },
        { endStream: true },
      );
    } catch {
      // the stream is already gone
    }
    if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
  }
}
