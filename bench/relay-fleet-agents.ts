/**
 * Bench child (relay fleet): a share of the simulated agents, in a process apart from the server (their CPU is
 * reported apart). Keys and CSRs are made before the clock starts (that work happens on agents' own machines; keys
 * come from a small pool, each CSR is distinct). Each agent then does what a real agent does, with the protocol's
 * minimum of connections:
 * - `relay`: Bootstrap with the token over a server-authenticated connection of its own (closed after), then ONE
 *   mutual-TLS connection (a grpc-js channel shared by the Certificates and Relay clients) over which it renews
 *   and opens its relay stream; it keeps that connection after the renewal (the relay's rule), waits for Welcome.
 * - `bare`: the same against the bare `node:http2` bound (relay-fleet-bare-server.ts): POST /bootstrap over
 *   server-authenticated TLS, then one mutual-TLS session for POST /renew and the held POST /connect stream.
 * Streams stay open until the parent says `stop`.
 *
 * `storm` (after `run`): the renewal storm. Every agent that holds its connection renews at once over it (a third
 * CSR, made before the clock): `Certificates.Renew` on the held channel, or `POST /renew` on the held bare session,
 * as a real agent does (the established connection stays valid, no new handshake), each with the agent's deadline
 * per call (30 s; one answered later counts as failed, as the agent would have given it up). Answers `stormed` with the
 * time, failures, refusals by code (gRPC RESOURCE_EXHAUSTED, certloop's CERTLOOP_RATE_LIMITED) and the agents' CPU.
 *
 * The reconnect storm (relay): a held stream that ends (the parent killed its replica) is opened again at once over
 * the same channel (grpc-js makes a new connection, a full mutual-TLS handshake: see relay-fleet.ts), retried for up
 * to 60 s; `reconnects` answers how many dropped, came back (with the time each took) and failed.
 */
import { connect as http2Connect } from 'node:http2';
import { createCsr, generateKeyPair } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { bootstrapClient, channelOptions, unary } from '../packages/agent-rotator/src/agent/channel.js';
import { relayProtocol, type SignResponse } from '../packages/agent-rotator/src/shared/proto.js';
import { ERROR_CODE_TRAILER } from '../packages/agent-rotator/src/shared/status.js';

interface Job {
  kind: 'run';
  mode: 'relay' | 'bare';
  address: string;
  token: string;
  trustBundlePem: string;
  from: number;
  count: number;
  concurrency: number;
  /** Stop starting new agents after this many milliseconds (the run is reported as cut short). */
  budgetMs: number;
}

const open: Array<() => void> = [];
let stopping = false;
/** The deadline of one call, as the agent's RelayCaClient sets it (callTimeoutMs, default 30 s). */
const CALL_TIMEOUT_MS = 30_000;
/** The reconnect storm, as this process's agents saw it. */
const reconnects = {
  dropped: 0,
  reconnected: 0,
  failed: 0,
  lastWelcomeAt: 0,
  lastError: '',
  latencies: [] as number[],
};
/** One renewal over each held connection (the storm), in agent order. */
const renewers: Array<() => Promise<unknown>> = [];

interface Prepared {
  readonly k1: { privateKeyPem: string };
  readonly c1: { csrPem: string };
  readonly c2: { csrPem: string };
  /** The renewal storm's CSR (a third key of the pool). */
  readonly c3: { csrPem: string };
}

async function prepare(job: Job): Promise<Map<number, Prepared>> {
  const pool = await Promise.all(Array.from({ length: 16 }, () => generateKeyPair({ algorithm: 'ECDSA-P256' })));
  const out = new Map<number, Prepared>();
  for (let n = job.from; n < job.from + job.count; n++) {
    const cluster = `agent-${n}`;
    const k1 = pool[n % pool.length]!;
    const k2 = pool[(n + 1) % pool.length]!;
    const subject = { commonName: cluster };
    const c1 = await createCsr({ privateKeyPem: k1.privateKeyPem, subject, dnsNames: [cluster] });
    const c2 = await createCsr({ privateKeyPem: k2.privateKeyPem, subject, dnsNames: [cluster] });
    const k3 = pool[(n + 2) % pool.length]!;
    const c3 = await createCsr({ privateKeyPem: k3.privateKeyPem, subject, dnsNames: [cluster] });
    out.set(n, { k1, c1, c2, c3 });
  }
  return out;
}

type Latencies = { handshake: number[]; signing: number[] };

async function relayAgent(job: Job, n: number, lat: Latencies, prepared: Prepared): Promise<void> {
  const cluster = `agent-${n}`;
  const target = { serverAddress: job.address, serverName: 'localhost' };
  const trust = Buffer.from(job.trustBundlePem);
  const { k1, c1, c2, c3 } = prepared;
  const boot = bootstrapClient(target, job.trustBundlePem);
  let first: SignResponse;
  try {
    first = await unary<unknown, SignResponse>(boot, 'Bootstrap', {
      token: job.token,
      cluster,
      csrPem: c1.csrPem,
      lifetimeSeconds: 86_400,
      renewalRatio: 0.1,
    });
  } finally {
    boot.close();
  }
  const mtls = grpc.credentials.createSsl(
    trust,
    Buffer.from(k1.privateKeyPem),
    Buffer.from(first.certificatePem + first.chainPem),
  );
  const channel = new grpc.Channel(job.address, mtls, channelOptions(target));
  const protocol = relayProtocol();
  const override = { channelOverride: channel };
  const certificates = new protocol.Certificates(job.address, grpc.credentials.createInsecure(), override);
  const relay = new protocol.Relay(job.address, grpc.credentials.createInsecure(), override);
  const h0 = performance.now();
  await new Promise<void>((resolve, reject) =>
    certificates.waitForReady(Date.now() + 60_000, (err) => (err ? reject(err) : resolve())),
  );
  const s0 = performance.now();
  lat.handshake.push(s0 - h0);
  await unary<unknown, SignResponse>(certificates, 'Renew', {
    csrPem: c2.csrPem,
    lifetimeSeconds: 86_400,
    renewalRatio: 0.1,
  });
  lat.signing.push(performance.now() - s0);
  // the renewed certificate is for the next connection: this one stays (an established connection stays valid)
  type Stream = grpc.ClientDuplexStream<unknown, { welcome?: unknown }>;
  const connect = (options: grpc.CallOptions = {}) =>
    (relay as unknown as { Connect(options: grpc.CallOptions): Stream }).Connect(options);
  const hello = (stream: Stream) =>
    new Promise<void>((resolve, reject) => {
      stream.on('data', (m) => {
        if (m.welcome) resolve();
      });
      stream.on('error', reject);
      stream.write({ hello: { cluster, agent: 'bench' } });
    });
  let stream = connect();
  await hello(stream);
  // the reconnect storm: a stream that ends (its replica was killed) is opened again at once, as an agent does
  const follow = (held: Stream) =>
    held.on('error', () => {
      if (stopping) return;
      const dropped = Date.now();
      reconnects.dropped++;
      void (async () => {
        for (let attempt = 0; ; attempt++) {
          // no call deadline: it would end the held stream too; an attempt not welcomed in time is cancelled
          const attemptStream = connect();
          stream = attemptStream;
          const timer = setTimeout(() => attemptStream.cancel(), Math.max(0, dropped + 60_000 - Date.now()));
          try {
            await hello(attemptStream).finally(() => clearTimeout(timer));
            reconnects.reconnected++;
            reconnects.latencies.push(Date.now() - dropped);
            reconnects.lastWelcomeAt = Math.max(reconnects.lastWelcomeAt, Date.now());
            follow(attemptStream);
            return;
          } catch (err) {
            if (stopping) return;
            reconnects.lastError = String((err as Error).message ?? err);
            if (Date.now() - dropped > 60_000) {
              reconnects.failed++;
              return;
            }
            await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
          }
        }
      })();
    });
  follow(stream);
  open.push(() => {
    stream.cancel();
    channel.close();
  });
  // with the agent's own deadline per call (RelayCaClient's callTimeoutMs, 30 s): a renewal later than that failed
  renewers.push(() =>
    unary<unknown, SignResponse>(
      certificates,
      'Renew',
      { csrPem: c3.csrPem, lifetimeSeconds: 86_400, renewalRatio: 0.1 },
      AbortSignal.timeout(CALL_TIMEOUT_MS),
    ),
  );
}

interface PoolCert {
  keyPem: string;
  certPem: string;
}

function post(
  session: ReturnType<typeof http2Connect>,
  path: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<PoolCert> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' }, { signal });
    const chunks: Buffer[] = [];
    let status = 0;
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      status === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`${path} ${status}`)),
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function bareAgent(job: Job, n: number, lat: Latencies, prepared: Prepared): Promise<void> {
  const url = `https://${job.address}`;
  const tls = { ca: job.trustBundlePem, servername: 'localhost' };
  const boot = http2Connect(url, tls);
  let first: PoolCert;
  try {
    first = await post(boot, '/bootstrap', { token: job.token, cluster: `agent-${n}`, csrPem: prepared.c1.csrPem });
  } finally {
    boot.close();
  }
  const h0 = performance.now();
  const session = http2Connect(url, { ...tls, key: first.keyPem, cert: first.certPem });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const s0 = performance.now();
  lat.handshake.push(s0 - h0);
  await post(session, '/renew', { csrPem: prepared.c2.csrPem });
  lat.signing.push(performance.now() - s0);
  const stream = session.request({ ':method': 'POST', ':path': '/connect' });
  await new Promise<void>((resolve, reject) => {
    stream.once('data', () => resolve());
    stream.once('error', reject);
    stream.write('hello\n');
  });
  stream.on('error', () => undefined);
  open.push(() => {
    stream.close();
    session.close();
  });
  renewers.push(() => post(session, '/renew', { csrPem: prepared.c3.csrPem }, AbortSignal.timeout(CALL_TIMEOUT_MS)));
}

/** The renewal storm: every held connection renews at once; failures counted by code. */
async function storm(): Promise<void> {
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  let failed = 0;
  let resourceExhausted = 0;
  let lastError = '';
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    renewers.map(async (renew) => {
      const t0 = performance.now();
      try {
        await renew();
        latencies.push(performance.now() - t0);
      } catch (err) {
        failed++;
        const e = err as grpc.ServiceError;
        if (e.code === grpc.status.RESOURCE_EXHAUSTED) resourceExhausted++;
        const code = String(
          e.metadata?.get(ERROR_CODE_TRAILER)[0] ?? (e.code !== undefined ? `grpc ${e.code}` : 'other'),
        );
        codes[code] = (codes[code] ?? 0) + 1;
        lastError = String(e.message ?? err);
      }
    }),
  );
  process.send?.({
    kind: 'stormed',
    ms: performance.now() - started,
    cpu: process.cpuUsage(cpu0),
    done: latencies.length,
    failed,
    resourceExhausted,
    codes,
    lastError,
    latencies,
  });
}

let prepared: Map<number, Prepared> | undefined;
process.on(
  'message',
  async (
    m: Job | { kind: 'stop' } | { kind: 'storm' } | { kind: 'reconnects' } | (Omit<Job, 'kind'> & { kind: 'prepare' }),
  ) => {
    if (m.kind === 'storm') return void storm();
    if (m.kind === 'reconnects') return void process.send?.({ kind: 'reconnects', ...reconnects });
    if (m.kind === 'prepare') {
      prepared = await prepare(m as unknown as Job);
      process.send?.({ kind: 'prepared' });
      return;
    }
    if (m.kind === 'stop') {
      stopping = true;
      for (const close of open.splice(0)) close();
      process.send?.({ kind: 'stopped' }, () => process.exit(0));
      return;
    }
    const job = m;
    const lat: Latencies = { handshake: [], signing: [] };
    const agent = job.mode === 'bare' ? bareAgent : relayAgent;
    let next = job.from;
    let failed = 0;
    let done = 0;
    let lastError = '';
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    const worker = async () => {
      while (next < job.from + job.count && performance.now() - started < job.budgetMs) {
        const n = next++;
        try {
          await agent(job, n, lat, prepared!.get(n)!);
          done++;
        } catch (err) {
          failed++;
          lastError = String((err as Error).message ?? err);
        }
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, worker));
    process.send?.({
      kind: 'done',
      cpu: process.cpuUsage(cpu0),
      ms: performance.now() - started,
      done,
      failed,
      lastError,
      ...lat,
    });
  },
);
process.send?.({ kind: 'ready' });
