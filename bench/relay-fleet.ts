/**
 * Bench: a fleet of simulated agents against one RelayServer over gRPC with mutual TLS. The server runs in its own
 * process; the agents in two other processes (one per core). Each agent bootstraps with the token, renews once
 * with its first certificate and holds a relay stream with the renewed one. Reports agents per second (all three
 * steps, until every stream is welcomed), mutual-TLS handshake and Renew latency p50/p99, and the server's peak RSS,
 * for N = 1,000 and 10,000. Targets (DESIGN.md): 10,000 agents in under 20 s, server RSS under 300 MB.
 *
 * Run alone: `node --conditions=source --import tsx bench/relay-fleet.ts [N...]`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchResult, formatResults, LatencySamples } from './types.js';

const AGENT_PROCESSES = 2;
/** A run stops starting agents after this long, so `npm run bench` stays bounded on a busy machine. */
const BUDGET_MS = Number(process.env.CERTLOOP_BENCH_FLEET_BUDGET_MS ?? 120_000);
const CONCURRENCY = 48;
const MIB = 1024 * 1024;

function child(script: string): ChildProcess {
  return fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    execArgv: [
      '--conditions=source',
      '--import',
      'tsx',
      ...(process.env.CERTLOOP_BENCH_PROF && script.includes(process.env.CERTLOOP_BENCH_PROF)
        ? ['--cpu-prof', '--cpu-prof-dir=/tmp/relay-prof']
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function next<T>(proc: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      proc.off('message', onMessage);
      resolve(m as T);
    };
    proc.on('message', onMessage);
    proc.once('exit', (code) => reject(new Error(`bench child exited (${code}) before ${kind}`)));
  });
}

interface AgentsDone {
  cpu: NodeJS.CpuUsage;
  ms: number;
  done: number;
  failed: number;
  lastError: string;
  handshake: number[];
  signing: number[];
}

async function fleet(n: number): Promise<BenchResult[]> {
  const server = child('./relay-fleet-server.ts');
  const ready = await next<{ address: string; token: string; trustBundlePem: string; baselineRss: number }>(
    server,
    'ready',
  );
  const agents = Array.from({ length: AGENT_PROCESSES }, () => child('./relay-fleet-agents.ts'));
  await Promise.all(agents.map((a) => next(a, 'ready')));
  const share = Math.ceil(n / AGENT_PROCESSES);
  const jobs = agents.map((_, i) => ({
    address: ready.address,
    token: ready.token,
    trustBundlePem: ready.trustBundlePem,
    from: i * share,
    count: Math.min(share, n - i * share),
    concurrency: CONCURRENCY,
    budgetMs: BUDGET_MS,
  }));
  await Promise.all(
    agents.map((a, i) => {
      const prepared = next(a, 'prepared');
      a.send({ kind: 'prepare', ...jobs[i] });
      return prepared;
    }),
  );
  const started = performance.now();
  const results = agents.map((a, i) => {
    const done = next<AgentsDone>(a, 'done');
    a.send({ kind: 'run', ...jobs[i] });
    return done;
  });
  const reports = await Promise.all(results);
  const seconds = (performance.now() - started) / 1000;
  const sample = next<{ connected: number; memory: NodeJS.MemoryUsage }>(server, 'sample');
  server.send({ kind: 'sample' });
  const { connected, memory } = (await sample) as { connected: number; memory: NodeJS.MemoryUsage };
  if (process.env.CERTLOOP_BENCH_DEBUG) console.error('server memory with streams open', JSON.stringify(memory));
  const stopped = next<{ peakRss: number; baselineRss: number; cpu: NodeJS.CpuUsage; metrics: { issued: number } }>(
    server,
    'stopped',
  );
  server.send({ kind: 'stop' });
  const serverReport = await stopped;
  if (process.env.CERTLOOP_BENCH_DEBUG)
    console.error(
      'cpu ms: server',
      JSON.stringify(serverReport.cpu),
      'agents',
      reports.map((r) => JSON.stringify(r.cpu)),
    );
  await Promise.all(
    agents.map(async (a) => {
      const bye = next(a, 'stopped').catch(() => undefined);
      a.send({ kind: 'stop' });
      await bye;
    }),
  );
  const handshake = new LatencySamples();
  const signing = new LatencySamples();
  let done = 0;
  let failed = 0;
  for (const r of reports) {
    for (const v of r.handshake) handshake.push(v);
    for (const v of r.signing) signing.push(v);
    done += r.done;
    failed += r.failed;
    if (r.failed) console.error(`relay fleet: ${r.failed} agents failed, last error: ${r.lastError}`);
  }
  const peakMb = serverReport.peakRss / MIB;
  const name = `relay fleet N=${n}`;
  const big = n >= 10_000;
  const cut = done + failed < n ? `, cut at ${(BUDGET_MS / 1000).toFixed(0)} s` : '';
  return [
    {
      name: `${name}: bootstrap+renew+stream (${done} ok, ${failed} failed, ${connected} streams open${cut})`,
      opsPerSecond: done / seconds,
      value: seconds,
      unit: ' s',
      ...(big ? { target: '< 20 s', ok: seconds < 20 && failed === 0 && done === n } : {}),
    },
    {
      name: `${name}: CPU per agent, server / agents (ms)`,
      value: cpuMs(serverReport.cpu) / Math.max(1, done),
      unit: ` / ${(reports.reduce((t, r) => t + cpuMs(r.cpu), 0) / Math.max(1, done)).toFixed(2)}`,
    },
    { name: `${name}: mTLS handshake`, ...handshake.percentiles() },
    { name: `${name}: Renew (check + sign)`, ...signing.percentiles() },
    {
      name: `${name}: server peak RSS (idle ${(serverReport.baselineRss / MIB).toFixed(0)} MiB)`,
      value: peakMb,
      unit: ' MiB',
      ...(big ? { target: '< 300 MiB', ok: peakMb < 300 } : {}),
    },
  ];
}

const cpuMs = (cpu: NodeJS.CpuUsage) => (cpu.user + cpu.system) / 1000;

/** Sizes from `CERTLOOP_BENCH_FLEET_SIZES` (e.g. `1000,10000`), default 1,000 and 10,000. */
export async function benchRelayFleet(
  sizes: readonly number[] = (process.env.CERTLOOP_BENCH_FLEET_SIZES ?? '1000,10000').split(',').map(Number),
): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const n of sizes) out.push(...(await fleet(n)));
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  console.log(formatResults(await benchRelayFleet(sizes.length ? sizes : undefined)));
}
