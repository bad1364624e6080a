/**
 * Bench child (relay fleet): a share of the simulated agents, in a process apart from the server. Keys and CSRs are
 * made before the clock starts (that work happens on agents' own machines, not on the server; keys come from a small
 * pool, each CSR is distinct). Each agent then bootstraps with the token (Bootstrap calls of this process share one server-authenticated
 * connection: the token, not TLS, is their credential), then makes a second key and CSR and renews over its own
 * mutual-TLS connection with the first certificate, then opens its relay stream over a third connection with the
 * renewed certificate and waits for Welcome. Streams stay open until the parent says `stop`.
 */

import { createCsr, generateKeyPair } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import {
  bootstrapClient,
  certificatesClient,
  relayClient,
  unary,
} from '../packages/agent-rotator/src/agent/channel.js';
import type { SignResponse } from '../packages/agent-rotator/src/shared/proto.js';

interface Job {
  kind: 'run';
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

interface Prepared {
  readonly k1: { privateKeyPem: string };
  readonly c1: { csrPem: string };
  readonly k2: { privateKeyPem: string };
  readonly c2: { csrPem: string };
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
    out.set(n, { k1, c1, k2, c2 });
  }
  return out;
}

async function agent(
  job: Job,
  n: number,
  boot: grpc.Client,
  lat: { handshake: number[]; signing: number[] },
  prepared: Prepared,
) {
  const cluster = `agent-${n}`;
  const target = { serverAddress: job.address, serverName: 'localhost' };
  const trust = Buffer.from(job.trustBundlePem);
  const { k1, c1, k2, c2 } = prepared;
  const first = await unary<unknown, SignResponse>(boot, 'Bootstrap', {
    token: job.token,
    cluster,
    csrPem: c1.csrPem,
    lifetimeSeconds: 86_400,
  });
  const mtls1 = grpc.credentials.createSsl(
    trust,
    Buffer.from(k1.privateKeyPem),
    Buffer.from(first.certificatePem + first.chainPem),
  );
  const renewClient = certificatesClient(target, mtls1);
  const h0 = performance.now();
  await new Promise<void>((resolve, reject) =>
    renewClient.waitForReady(Date.now() + 60_000, (err) => (err ? reject(err) : resolve())),
  );
  const s0 = performance.now();
  lat.handshake.push(s0 - h0);
  const second = await unary<unknown, SignResponse>(renewClient, 'Renew', {
    csrPem: c2.csrPem,
    lifetimeSeconds: 86_400,
  });
  lat.signing.push(performance.now() - s0);
  renewClient.close();
  const mtls2 = grpc.credentials.createSsl(
    trust,
    Buffer.from(k2.privateKeyPem),
    Buffer.from(second.certificatePem + second.chainPem),
  );
  const client = relayClient(target, mtls2);
  const stream = (
    client as unknown as { Connect(): grpc.ClientDuplexStream<unknown, { welcome?: unknown }> }
  ).Connect();
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (m) => {
      if (m.welcome) resolve();
    });
    stream.on('error', reject);
    stream.write({ hello: { cluster, agent: 'bench' } });
  });
  stream.on('error', () => undefined);
  open.push(() => {
    stream.cancel();
    client.close();
  });
}

let prepared: Map<number, Prepared> | undefined;
process.on('message', async (m: Job | { kind: 'stop' } | (Omit<Job, 'kind'> & { kind: 'prepare' })) => {
  if (m.kind === 'prepare') {
    prepared = await prepare(m as unknown as Job);
    process.send?.({ kind: 'prepared' });
    return;
  }
  if (m.kind === 'stop') {
    for (const close of open.splice(0)) close();
    process.send?.({ kind: 'stopped' }, () => process.exit(0));
    return;
  }
  const job = m;
  const boot = bootstrapClient({ serverAddress: job.address, serverName: 'localhost' }, job.trustBundlePem);
  const lat = { handshake: [] as number[], signing: [] as number[] };
  let next = job.from;
  let failed = 0;
  let lastError = '';
  const started = performance.now();
  const worker = async () => {
    while (next < job.from + job.count && performance.now() - started < job.budgetMs) {
      const n = next++;
      try {
        await agent(job, n, boot, lat, prepared!.get(n)!);
      } catch (err) {
        failed++;
        lastError = String((err as Error).message ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  boot.close();
  process.send?.({
    kind: 'done',
    cpu: process.cpuUsage(),
    ms: performance.now() - started,
    done: lat.signing.length,
    failed,
    lastError,
    ...lat,
  });
});
process.send?.({ kind: 'ready' });
