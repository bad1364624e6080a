/**
 * The lean gRPC server against real clients over real TLS on loopback: grpc-js clients (what agents use) and raw
 * `node:http2` clients sending what grpc-js never would (malformed frames, truncated or oversized messages, wrong
 * content types, resets mid-call). Every refusal is a typed status and nothing stays open.
 */
import { type ClientHttp2Session, constants, connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { bootstrapRelayPki, MemorySecretStore, readTlsMaterial } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapClient } from '../../agent/channel.js';
import {
  type AgentMessage,
  type BootstrapRequest,
  relayMethod,
  relayProtocol,
  type ServerMessage,
  type SignResponse,
} from '../../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../../shared/status.js';
import { type ProtoMethod, protoCodec } from './proto-codec.js';
import { type BidiCall, LeanGrpcServer, type MessageCodec } from './server.js';
import { GrpcStatus, GrpcStatusError } from './status.js';

const BOOTSTRAP = '/certloop.relay.v1.Certificates/Bootstrap';
const CONNECT = '/certloop.relay.v1.Relay/Connect';

function codec<Req, Res>(service: 'Certificates' | 'Relay', name: string): MessageCodec<Req, Res> {
  return protoCodec(relayMethod(service, name) as unknown as ProtoMethod);
}
const encodeBootstrap = (r: Partial<BootstrapRequest>) => relayMethod('Certificates', 'Bootstrap').requestSerialize(r);

let server: LeanGrpcServer;
let address: string;
let trust: string;
const pending: Array<{ cancelled: () => boolean }> = [];
const openStreams = new Set<BidiCall<AgentMessage, ServerMessage>>();
let closedStreams = 0;

beforeAll(async () => {
  const store = new MemorySecretStore();
  const pki = await bootstrapRelayPki({ store, token: 'grpc-test-token-0123456789' });
  const material = readTlsMaterial((await store.get(pki.names.server))!);
  trust = material.trustBundlePem!;
  server = new LeanGrpcServer({
    tls: { key: material.privateKeyPem, cert: material.certificatePem, ca: trust, minVersion: 'TLSv1.2' },
    maxReceiveMessageBytes: 1024,
    maxConcurrentStreams: 7,
  });
  server.addUnary<BootstrapRequest, SignResponse>(BOOTSTRAP, codec('Certificates', 'Bootstrap'), (request, call) => {
    switch (request.cluster) {
      case 'refuse':
        throw new GrpcStatusError(GrpcStatus.PERMISSION_DENIED, 'nö: 100% refused\n', {
          [ERROR_CODE_TRAILER]: 'CERTLOOP_FORBIDDEN',
        });
      case 'throw':
        return Promise.reject(new Error('a secret the client must not see'));
      case 'hang':
        pending.push({ cancelled: () => call.cancelled });
        return new Promise<SignResponse>(() => undefined);
      default:
        return Promise.resolve({
          certificatePem: `${request.token}@${call.peer}`,
          chainPem: '',
          trustBundlePem: '',
          notBeforeSeconds: 1,
          notAfterSeconds: 2 ** 40,
          serialNumber: request.cluster,
        });
    }
  });
  server.addBidi<AgentMessage, ServerMessage>(CONNECT, codec('Relay', 'Connect'), (call) => {
    openStreams.add(call);
    call.onMessage = (message) => {
      if (message.hello) call.write({ welcome: { cluster: message.hello.cluster } as ServerMessage['welcome'] });
      if (message.heartbeat) call.write({ heartbeat: { sequence: message.heartbeat.sequence, sentAtMs: 0 } });
      if (message.bundleReport) {
        call.end(new GrpcStatusError(GrpcStatus.UNAUTHENTICATED, 'go away', { [ERROR_CODE_TRAILER]: 'CERTLOOP_X' }));
      }
    };
    call.onHalfClose = () => call.end();
    call.onClose = () => {
      openStreams.delete(call);
      closedStreams++;
    };
  });
  address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
});

afterAll(async () => {
  await server.close(500);
});

const target = () => ({ serverAddress: address, serverName: 'localhost' });

function grpcUnary(request: Partial<BootstrapRequest>, deadlineMs?: number): Promise<SignResponse> {
  const client = bootstrapClient(target(), trust);
  return new Promise<SignResponse>((resolve, reject) => {
    const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    (client as unknown as Record<string, (...a: unknown[]) => void>).Bootstrap!.call(
      client,
      request,
      options,
      (err: grpc.ServiceError | null, res: SignResponse) => (err ? reject(err) : resolve(res)),
    );
  }).finally(() => client.close());
}

async function statusOf(p: Promise<unknown>): Promise<{ code: string; details: string; trailer: unknown }> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: grpc.status[e.code]!, details: e.details, trailer: e.metadata?.get(ERROR_CODE_TRAILER)[0] };
  }
  throw new Error('expected a refusal');
}

interface RawAnswer {
  readonly status: number;
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string | undefined;
  readonly body: Buffer;
  readonly rstCode: number;
}

function session(): Promise<ClientHttp2Session> {
  const s = http2Connect(`https://${address}`, { ca: trust, servername: 'localhost' });
  return new Promise((resolve, reject) => {
    s.once('remoteSettings', () => resolve(s));
    s.once('error', reject);
  });
}

/** A raw HTTP/2 request: headers, then `chunks`, then (unless told not to) END_STREAM. */
async function raw(
  headers: Record<string, string>,
  chunks: Buffer[],
  options: { end?: boolean; reset?: boolean } = {},
): Promise<RawAnswer> {
  const s = await session();
  try {
    const req = s.request({
      ':method': 'POST',
      ':path': BOOTSTRAP,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    for (const c of chunks) req.write(c);
    if (options.reset) {
      await new Promise((r) => setTimeout(r, 20));
      req.close(constants.NGHTTP2_CANCEL);
    } else if (options.end !== false) {
      req.end();
    }
    let status = 0;
    let fields: Record<string, unknown> = {};
    const body: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      fields = { ...h };
    });
    req.on('trailers', (t) => {
      fields = { ...fields, ...t };
    });
    req.on('data', (c: Buffer) => body.push(c));
    req.on('error', () => undefined);
    await new Promise((r) => req.once('close', r));
    const grpcStatus = fields['grpc-status'];
    return {
      status,
      grpcStatus: grpcStatus === undefined ? undefined : Number(grpcStatus),
      grpcMessage: fields['grpc-message'] as string | undefined,
      body: Buffer.concat(body),
      rstCode: req.rstCode ?? 0,
    };
  } finally {
    s.close();
  }
}

function frame(payload: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

describe('LeanGrpcServer with grpc-js clients', () => {
  it('answers a unary call, and a refusal with its status, percent-encoded message and certloop trailer', async () => {
    const ok = await grpcUnary({ token: 't', cluster: 'alpha', csrPem: 'x' });
    expect(ok).toMatchObject({ certificatePem: 't@127.0.0.1', serialNumber: 'alpha', notAfterSeconds: 2 ** 40 });
    expect(await statusOf(grpcUnary({ cluster: 'refuse' }))).toEqual({
      code: 'PERMISSION_DENIED',
      details: 'nö: 100% refused\n',
      trailer: 'CERTLOOP_FORBIDDEN',
    });
    // an error that is not a status: UNKNOWN, and nothing of its message on the wire
    expect(await statusOf(grpcUnary({ cluster: 'throw' }))).toMatchObject({
      code: 'UNKNOWN',
      details: 'the server failed to handle the call',
    });
  });

  it('refuses an oversized request with RESOURCE_EXHAUSTED', async () => {
    const huge = await statusOf(grpcUnary({ cluster: 'alpha', csrPem: 'x'.repeat(4096) }));
    expect(huge.code).toBe('RESOURCE_EXHAUSTED');
  });

  it('ends a call past its grpc-timeout with DEADLINE_EXCEEDED and marks it cancelled', async () => {
    const before = pending.length;
    expect((await statusOf(grpcUnary({ cluster: 'hang' }, 150))).code).toBe('DEADLINE_EXCEEDED');
    expect(pending.length).toBe(before + 1);
    await expect.poll(() => pending.at(-1)!.cancelled()).toBe(true);
  });

  it('says UNIMPLEMENTED for a method it does not serve', async () => {
    const client = new grpc.Client(address, grpc.credentials.createSsl(Buffer.from(trust)), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const call = new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        '/certloop.relay.v1.Certificates/Nope',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
    expect((await statusOf(call)).code).toBe('UNIMPLEMENTED');
    client.close();
  });

  it('streams both ways, ends with OK on half-close, with a refusal on demand, and forgets a cancelled stream', async () => {
    const Relay = relayProtocol().Relay;
    const client = new Relay(address, grpc.credentials.createSsl(Buffer.from(trust)), {
      'grpc.ssl_target_name_override': 'localhost',
    }) as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ServerMessage>; close(): void };
    const open = (): Promise<{ stream: grpc.ClientDuplexStream<AgentMessage, ServerMessage>; got: ServerMessage[] }> =>
      new Promise((resolve) => {
        const stream = client.Connect();
        const got: ServerMessage[] = [];
        stream.on('data', (m: ServerMessage) => {
          got.push(m);
          if (m.welcome) resolve({ stream, got });
        });
        stream.on('error', () => undefined);
        stream.write({ hello: { cluster: 'c1', agent: 'a' } });
      });
    const closedBefore = closedStreams;
    // 1: heartbeats echoed, then the client half-closes: OK
    const a = await open();
    a.stream.write({ heartbeat: { sequence: 7, sentAtMs: 1 } });
    const okStatus = await new Promise<grpc.StatusObject>((resolve) => {
      a.stream.on('status', resolve);
      a.stream.on('data', () => a.stream.end());
    });
    expect(okStatus.code).toBe(grpc.status.OK);
    expect(a.got.map((m) => m.kind)).toEqual(['welcome', 'heartbeat']);
    expect(a.got[1]!.heartbeat!.sequence).toBe(7);
    // 2: the server ends the stream with a refusal after having sent messages: status in the trailers
    const b = await open();
    const refused = await new Promise<grpc.StatusObject>((resolve) => {
      b.stream.on('status', resolve);
      b.stream.write({ bundleReport: { trustBundleDigest: 'x' } });
    });
    expect([refused.code, refused.details, refused.metadata.get(ERROR_CODE_TRAILER)[0]]).toEqual([
      grpc.status.UNAUTHENTICATED,
      'go away',
      'CERTLOOP_X',
    ]);
    // 3: the client cancels mid-stream: the server's onClose runs and the call is gone
    const c = await open();
    expect(openStreams.size).toBeGreaterThanOrEqual(1);
    c.stream.cancel();
    await expect.poll(() => closedStreams).toBe(closedBefore + 3);
    expect(openStreams.size).toBe(0);
    client.close();
  });
});

describe('LeanGrpcServer with raw HTTP/2 clients', () => {
  it('answers a well-formed raw call like grpc-js does', async () => {
    const answer = await raw({}, [frame(encodeBootstrap({ token: 'r', cluster: 'raw' }))]);
    expect([answer.status, answer.grpcStatus]).toEqual([200, GrpcStatus.OK]);
    const m = relayMethod('Certificates', 'Bootstrap');
    expect((m.responseDeserialize(answer.body.subarray(5)) as SignResponse).serialNumber).toBe('raw');
  });

  it('refuses a wrong content-type (415) and a method other than POST (405)', async () => {
    const json = await raw({ 'content-type': 'application/json' }, [Buffer.from('{}')]);
    expect([json.status, json.grpcStatus]).toEqual([415, GrpcStatus.INTERNAL]);
    const near = await raw({ 'content-type': 'application/grpcx' }, []);
    expect(near.status).toBe(415);
    const get = await raw({ ':method': 'GET' }, [], { end: true });
    expect(get.status).toBe(405);
    const plus = await raw({ 'content-type': 'application/grpc+proto' }, [frame(encodeBootstrap({ cluster: 'p' }))]);
    expect(plus.grpcStatus).toBe(GrpcStatus.OK);
  });

  it('says which frame was wrong: truncated, undecodable, compressed, none, two, oversized', async () => {
    const whole = frame(encodeBootstrap({ token: 't', cluster: 'alpha' }));
    const cases: Array<[string, Buffer[], Record<string, string>, number]> = [
      ['truncated message', [whole.subarray(0, whole.length - 3)], {}, GrpcStatus.INTERNAL],
      ['truncated header', [whole.subarray(0, 3)], {}, GrpcStatus.INTERNAL],
      ['undecodable protobuf', [frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]))], {}, GrpcStatus.INTERNAL],
      ['string past the message', [frame(Buffer.from([0x0a, 0x05, 0x41]))], {}, GrpcStatus.INTERNAL],
      ['bad wire type', [frame(Buffer.from([0x07]))], {}, GrpcStatus.INTERNAL],
      ['compressed flag', [frame(Buffer.from('x'), 1)], {}, GrpcStatus.INTERNAL],
      ['no message', [], {}, GrpcStatus.UNIMPLEMENTED],
      ['two messages', [whole, whole], {}, GrpcStatus.UNIMPLEMENTED],
      ['oversized', [Buffer.from([0, 0, 0, 0x10, 0])], {}, GrpcStatus.RESOURCE_EXHAUSTED],
      ['gzip encoding', [whole], { 'grpc-encoding': 'gzip' }, GrpcStatus.UNIMPLEMENTED],
      ['bad grpc-timeout', [whole], { 'grpc-timeout': '10 seconds' }, GrpcStatus.INTERNAL],
      ['unknown path', [whole], { ':path': '/nope.Service/Method' }, GrpcStatus.UNIMPLEMENTED],
    ];
    for (const [name, chunks, headers, expected] of cases) {
      const answer = await raw(headers, chunks);
      expect({ name, status: answer.status, grpcStatus: answer.grpcStatus }).toEqual({
        name,
        status: 200,
        grpcStatus: expected,
      });
      expect(answer.grpcMessage?.length).toBeGreaterThan(0);
    }
  });

  it('refuses an oversized message while the client is still sending, then resets the stream with NO_ERROR', async () => {
    const answer = await raw({}, [Buffer.from([0, 0, 0, 0x40, 0]), Buffer.alloc(512)], { end: false });
    expect(answer.grpcStatus).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(answer.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('cancels a unary call the client resets before it is answered, and serves the connection on', async () => {
    const before = pending.length;
    const whole = frame(encodeBootstrap({ cluster: 'hang' }));
    // reset while the request is still open: the handler never runs
    const partial = await raw({}, [whole.subarray(0, 4)], { reset: true });
    expect(partial.rstCode).toBe(constants.NGHTTP2_CANCEL);
    expect(pending.length).toBe(before);
    const s = await session();
    const req = s.request({ ':method': 'POST', ':path': BOOTSTRAP, 'content-type': 'application/grpc' });
    req.end(whole);
    await expect.poll(() => pending.length).toBe(before + 1);
    req.close(constants.NGHTTP2_CANCEL);
    await expect.poll(() => pending.at(-1)!.cancelled()).toBe(true);
    s.close();
  });

  it('answers HTTP/2 PINGs and announces its stream limit and no HPACK dynamic table', async () => {
    const s = await session();
    expect(s.remoteSettings.maxConcurrentStreams).toBe(7);
    expect(s.remoteSettings.headerTableSize).toBe(0);
    const rtt = await new Promise<number>((resolve, reject) =>
      s.ping((err, duration) => (err ? reject(err) : resolve(duration))),
    );
    expect(rtt).toBeGreaterThanOrEqual(0);
    s.close();
  });

  it('selects h2 by ALPN and refuses a client that offers only http/1.1 in the handshake', async () => {
    const [host, port] = [
      address.slice(0, address.lastIndexOf(':')),
      Number(address.slice(address.lastIndexOf(':') + 1)),
    ];
    const handshake = (ALPNProtocols: string[]) =>
      new Promise<string | false | null>((resolve, reject) => {
        const socket = tlsConnect({ host, port, servername: 'localhost', ca: trust, ALPNProtocols }, () => {
          resolve(socket.alpnProtocol);
          socket.destroy();
        });
        socket.once('error', reject);
      });
    expect(await handshake(['http/1.1', 'h2'])).toBe('h2');
    await expect(handshake(['http/1.1'])).rejects.toMatchObject({
      code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
    });
  });
});

describe('LeanGrpcServer shutdown', () => {
  /** A server of its own with a Connect method that answers each message, and how to open a session to it. */
  async function ownServer() {
    const store = new MemorySecretStore();
    const pki = await bootstrapRelayPki({ store, token: 'grpc-test-token-0123456789' });
    const material = readTlsMaterial((await store.get(pki.names.server))!);
    const own = new LeanGrpcServer({ tls: { key: material.privateKeyPem, cert: material.certificatePem } });
    own.addBidi<AgentMessage, ServerMessage>(CONNECT, codec('Relay', 'Connect'), (call) => {
      call.onMessage = () => call.write({ heartbeat: { sequence: 1, sentAtMs: 0 } });
    });
    const port = await own.listen('127.0.0.1:0');
    const open = () => {
      const s = http2Connect(`https://127.0.0.1:${port}`, { ca: material.trustBundlePem!, servername: 'localhost' });
      s.on('error', () => undefined);
      return s;
    };
    return { own, open, port };
  }

  it('sends GOAWAY on close, ends held streams after the grace, and stops listening', async () => {
    const { own, open } = await ownServer();
    const s = open();
    const goaway = new Promise<void>((resolve) => s.once('goaway', () => resolve()));
    const req = s.request({ ':method': 'POST', ':path': CONNECT, 'content-type': 'application/grpc' });
    req.on('error', () => undefined);
    req.write(frame(Buffer.from(relayMethod('Relay', 'Connect').requestSerialize({ hello: { cluster: 'c' } }))));
    await new Promise((r) => req.once('data', r));
    expect(own.connections).toBe(1);
    const reqClosed = new Promise((r) => req.once('close', r));
    const closed = own.close(100);
    await goaway;
    await closed;
    expect(own.connections).toBe(0);
    await reqClosed;
    s.destroy();
  });

  it('resolves close() when a client told GOAWAY reconnects at once (the listener closes before any GOAWAY)', async () => {
    const { own, open } = await ownServer();
    const first = open();
    const reconnects: ReturnType<typeof open>[] = [];
    // like a grpc-js channel holding a stream: on GOAWAY it connects again straight away
    first.once('goaway', () => reconnects.push(open()));
    const req = first.request({ ':method': 'POST', ':path': CONNECT, 'content-type': 'application/grpc' });
    req.on('error', () => undefined);
    req.write(frame(Buffer.from(relayMethod('Relay', 'Connect').requestSerialize({ hello: { cluster: 'c' } }))));
    await new Promise((r) => req.once('data', r));
    await own.close(100);
    expect(reconnects).toHaveLength(1);
    expect(own.connections).toBe(0);
    for (const s of [first, ...reconnects]) s.destroy();
  });

  it('ends a connection stalled in its TLS handshake after the grace, so close() resolves', async () => {
    const { own, port } = await ownServer();
    const raw = netConnect(port, '127.0.0.1');
    raw.on('error', () => undefined);
    const rawClosed = new Promise((r) => raw.once('close', r));
    // a TLS record header announcing 255 bytes of handshake that never come
    raw.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff]));
    for (let turns = 0; own.sockets < 1; turns++) {
      if (turns > 1_000) throw new Error('the server never accepted the connection');
      await new Promise((r) => setImmediate(r));
    }
    expect(own.connections).toBe(0); // no HTTP/2 session: the handshake never ended
    await own.close(100); // before, the listener's close waited for the TLS handshake timeout (120 s)
    await rawClosed;
    for (let turns = 0; own.sockets > 0; turns++) {
      if (turns > 1_000) throw new Error('the stalled connection is still counted');
      await new Promise((r) => setImmediate(r));
    }
  });
});
