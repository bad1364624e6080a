/**
 * Bench: server CPU per agent reconnect, with and without TLS session resumption. The RelayServer runs in a
 * process of its own (relay-fleet-server.ts, so its CPU is its own); this process runs a few agents (bootstrapped
 * with the token, each with its `MutualChannel`), which reconnect over and over: a new mutual-TLS connection
 * (`MutualChannel.refresh()`), `Relay.Connect` with Hello until Welcome, then the stream and the old connection
 * close. Rounds with resumption and without alternate in the same run (the same code path, only
 * `resumeTlsSessions` differs); it prints server CPU per reconnect for each, their ratio (resumed / full), the
 * share of reconnects that did resume, and the agents' CPU apart.
 *
 * Run alone: `node --conditions=source --import tsx bench/relay-resumption.ts [reconnects per round]`.
 * The server is relay-fleet-server.ts, forked as the fleet bench forks it (the built packages; fleet-children.ts).
 * `CERTLOOP_BENCH_PROF=relay-fleet-server` writes a CPU profile of the server to `CERTLOOP_BENCH_PROF_DIR`
 * (default /tmp/relay-prof);
 * `CERTLOOP_BENCH_RESUMPTION_ONLY=full` (or `resumed`) then runs the measured rounds of one kind only.
 */
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  CredentialProvider,
  createCsr,
  generateKeyPair,
  MemorySecretStore,
  type CredentialProvider as Provider,
  tlsSecretData,
} from '@certloop/core';
import type * as grpc from '@grpc/grpc-js';
import { bootstrapClient, unary } from '../packages/agent-rotator/src/agent/channel.js';
import { MutualChannel } from '../packages/agent-rotator/src/agent/mutual-channel.js';
import type { AgentMessage, ServerMessage, SignResponse } from '../packages/agent-rotator/src/shared/proto.js';
import { benchChild, nextMessage } from './fleet-children.js';
import type { BenchResult } from './types.js';

const AGENTS = 4;
const ROUNDS = 3;

interface Ready {
  address: string;
  token: string;
  trustBundlePem: string;
}

async function serverCpuMs(proc: ChildProcess): Promise<number> {
  const reply = nextMessage<{ cpu: NodeJS.CpuUsage }>(proc, 'sample');
  proc.send({ kind: 'sample' });
  const { cpu } = await reply;
  return (cpu.user + cpu.system) / 1000;
}

/** An agent certificate from Bootstrap, in a memory store behind a provider. */
async function agentProvider(ready: Ready, cluster: string): Promise<Provider> {
  const client = bootstrapClient({ serverAddress: ready.address, serverName: 'localhost' }, ready.trustBundlePem);
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: cluster } });
  const issued = await unary<object, SignResponse>(client, 'Bootstrap', {
    token: ready.token,
    cluster,
    csrPem,
    lifetimeSeconds: 0,
  });
  client.close();
  const store = new MemorySecretStore();
  const certificatePem = issued.certificatePem + issued.chainPem;
  await store.put(cluster, { data: tlsSecretData({ certificatePem, privateKeyPem: key.privateKeyPem }) });
  const provider = new CredentialProvider({ name: cluster, watcher: store, usage: 'clientAuth' });
  await provider.start();
  return provider;
}

/** One reconnect: a new connection, Connect with Hello until Welcome, then the stream ends. */
async function reconnect(channel: MutualChannel, cluster: string): Promise<void> {
  channel.refresh();
  const lease = channel.acquire();
  try {
    const relay = lease.relay as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ServerMessage> };
    const stream = relay.Connect();
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: ServerMessage) => {
        if (m.welcome) resolve();
      });
      stream.on('error', (err) => reject(err));
      stream.write({ hello: { cluster, agent: 'bench-resumption', trustBundleDigest: '' } });
    });
    stream.cancel();
  } finally {
    lease.release();
  }
}

interface Round {
  serverMs: number;
  agentMs: number;
  reconnects: number;
  resumed: number;
}

async function round(proc: ChildProcess, channels: MutualChannel[], perAgent: number): Promise<Round> {
  const before = channels.map((c) => c.tlsSessions.resumed);
  const server0 = await serverCpuMs(proc);
  const agent0 = process.cpuUsage();
  await Promise.all(
    channels.map(async (channel, i) => {
      for (let k = 0; k < perAgent; k++) await reconnect(channel, `bench-resume-${i}`);
    }),
  );
  const agent = process.cpuUsage(agent0);
  const serverMs = (await serverCpuMs(proc)) - server0;
  return {
    serverMs,
    agentMs: (agent.user + agent.system) / 1000,
    reconnects: channels.length * perAgent,
    resumed: channels.reduce((t, c, i) => t + c.tlsSessions.resumed - before[i]!, 0),
  };
}

export async function benchRelayResumption(reconnectsPerRound = 400): Promise<BenchResult[]> {
  const proc = benchChild('./relay-fleet-server.ts', { CERTLOOP_BENCH_REPLICAS: '1' });
  try {
    const ready = await nextMessage<Ready>(proc, 'ready');
    const providers = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => agentProvider(ready, `bench-resume-${i}`)),
    );
    const channels = (resume: boolean) =>
      providers.map(
        (provider) =>
          new MutualChannel({
            serverAddress: ready.address,
            serverName: 'localhost',
            provider,
            trustBundlePem: () => ready.trustBundlePem,
            resumeTlsSessions: resume,
          }),
      );
    const resumed = channels(true);
    const full = channels(false);
    const perAgent = Math.max(1, Math.round(reconnectsPerRound / AGENTS));
    // warm-up: the JIT on both sides, and a first session for each resuming agent
    await round(proc, resumed, 10);
    await round(proc, full, 10);
    const totals = { resumed: [] as Round[], full: [] as Round[] };
    const per = (rounds: Round[], f: (r: Round) => number) =>
      rounds.reduce((t, r) => t + f(r), 0) / rounds.reduce((t, r) => t + r.reconnects, 0);
    const only = process.env.CERTLOOP_BENCH_RESUMPTION_ONLY;
    for (let r = 0; r < ROUNDS; r++) {
      if (only !== 'resumed') totals.full.push(await round(proc, full, perAgent));
      if (only !== 'full') totals.resumed.push(await round(proc, resumed, perAgent));
    }
    if (only) {
      const rounds = only === 'full' ? totals.full : totals.resumed;
      return [
        {
          name: `relay reconnect: server CPU, ${only} only`,
          value: per(rounds, (r) => r.serverMs),
          unit: 'ms/reconnect',
        },
      ];
    }
    for (const c of [...resumed, ...full]) c.close();
    for (const p of providers) p.close();
    const fullMs = per(totals.full, (r) => r.serverMs);
    const resumedMs = per(totals.resumed, (r) => r.serverMs);
    const share = per(totals.resumed, (r) => r.resumed);
    const perRound = (rounds: Round[]) => rounds.map((r) => (r.serverMs / r.reconnects).toFixed(3)).join(', ');
    console.log(
      `relay resumption: server ms/reconnect full [${perRound(totals.full)}], resumed [${perRound(totals.resumed)}]; ` +
        `load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    return [
      { name: 'relay reconnect: server CPU, full handshake', value: fullMs, unit: 'ms/reconnect' },
      { name: 'relay reconnect: server CPU, TLS session resumed', value: resumedMs, unit: 'ms/reconnect' },
      { name: 'relay reconnect: server CPU resumed / full', value: resumedMs / fullMs, unit: 'x' },
      { name: 'relay reconnect: share of reconnects resumed', value: share, unit: 'of 1' },
      {
        name: 'relay reconnect: agent CPU resumed / full',
        value: per(totals.resumed, (r) => r.agentMs) / per(totals.full, (r) => r.agentMs),
        unit: 'x',
      },
    ];
  } finally {
    const stopped = nextMessage(proc, 'stopped').catch(() => undefined);
    proc.send({ kind: 'stop' });
    await stopped;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { formatResults } = await import('./types.js');
  console.log(formatResults(await benchRelayResumption(Number(process.argv[2] ?? 400))));
}
