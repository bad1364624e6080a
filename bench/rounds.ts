/**
 * certloop benchmarks: an operation against its bound, measured in rounds so a shared machine's load shows up as
 * spread, not as a wrong ratio.
 *
 * Each round runs every operation for one slice, the order rotating from round to round; each slice records its
 * wall time, the process's CPU time and every latency. A ratio is taken round by round (both operations measured
 * within the same fraction of a second) and reported as the median and the worst round, by wall time and by CPU
 * time. CPU time leaves out the time the process waited for a core, so on a loaded machine it shows the work
 * itself; wall time is what a caller sees.
 */
import { performance } from 'node:perf_hooks';
import { type BenchOp, type BenchResult, LatencySamples } from './types.js';

export interface RoundsOptions {
  /**
   * Warm-up, interleaved in slices of 20 ms: the operations run for at least `warmupMs` (default 600 ms) and until
   * each has run `warmupIterations` times (default 0), but no longer than `maxWarmupMs` (default 8000 ms). All three
   * count this process's CPU time, not the clock: on a loaded machine the process gets a fraction of a core, and a
   * cap on wall time then ended the warm-up thousands of calls short (at a load of 15 on 2 cores, 5,700 of the
   * 12,000 calls the issuance bench asks for). V8 moves a large function that runs once per call
   * (`LocalCertificateAuthority.sign`) from Maglev to TurboFan only after some 10,000 calls: measured before that,
   * a ratio shows the warm-up, not the steady state.
   */
  readonly warmupMs?: number;
  /** One count for every operation, or one per operation (in the order given). */
  readonly warmupIterations?: number | readonly number[];
  readonly maxWarmupMs?: number;
  /** How many rounds. Default 24. */
  readonly rounds?: number;
  /** How long each operation runs in a round. Default 60 ms. */
  readonly sliceMs?: number;
}

export interface RoundsResult {
  readonly name: string;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Per round: wall milliseconds per operation. */
  readonly wallMsPerOp: readonly number[];
  /** Per round: process CPU milliseconds per operation. */
  readonly cpuMsPerOp: readonly number[];
  /** How many calls the warm-up made before the rounds. */
  readonly warmupCalls: number;
}

async function slice(op: BenchOp['op'], ms: number, samples?: LatencySamples) {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  let now = start;
  let count = 0;
  while (now < end) {
    const before = now;
    await op();
    now = performance.now();
    samples?.push(now - before);
    count++;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { count, wallMs: now - start, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Runs the warm-up (see {@link RoundsOptions.warmupMs}); gives the calls made, per operation. */
async function warmUp(ops: readonly BenchOp[], options: RoundsOptions): Promise<number[]> {
  const warmupMs = options.warmupMs ?? 600;
  const asked = options.warmupIterations ?? 0;
  const iterations = ops.map((_, i) => (typeof asked === 'number' ? asked : (asked[i] ?? 0)));
  const maxMs = Math.max(warmupMs, options.maxWarmupMs ?? 8000);
  const counts = ops.map(() => 0);
  const started = process.cpuUsage();
  for (;;) {
    const cpu = process.cpuUsage(started);
    const elapsed = (cpu.user + cpu.system) / 1000;
    if (elapsed >= maxMs || (elapsed >= warmupMs && counts.every((n, i) => n >= iterations[i]!))) return counts;
    for (const [i, { op }] of ops.entries()) {
      if (elapsed >= warmupMs && counts[i]! >= iterations[i]!) continue;
      counts[i]! += (await slice(op, 20)).count;
    }
  }
}

/** Runs `ops` in interleaved rounds (see the module comment). */
export async function measureRounds(ops: readonly BenchOp[], options: RoundsOptions = {}): Promise<RoundsResult[]> {
  const rounds = options.rounds ?? 24;
  const sliceMs = options.sliceMs ?? 60;
  const warmupCalls = await warmUp(ops, options);
  const state = ops.map(() => ({
    samples: new LatencySamples(),
    count: 0,
    wallMs: 0,
    wall: [] as number[],
    cpu: [] as number[],
  }));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < ops.length; k++) {
      const i = (round + k) % ops.length;
      const s = state[i]!;
      const { count, wallMs, cpuMs } = await slice(ops[i]!.op, sliceMs, s.samples);
      s.count += count;
      s.wallMs += wallMs;
      s.wall.push(wallMs / count);
      s.cpu.push(cpuMs / count);
    }
  }
  return ops.map(({ name }, i) => {
    const s = state[i]!;
    return {
      name,
      opsPerSecond: (s.count / s.wallMs) * 1000,
      ...s.samples.percentiles(),
      wallMsPerOp: s.wall,
      cpuMsPerOp: s.cpu,
      warmupCalls: warmupCalls[i]!,
    };
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The row for one operation (rate and latency percentiles over all rounds). */
export function roundsRow(result: RoundsResult): BenchResult {
  return { name: result.name, opsPerSecond: result.opsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms };
}

/**
 * `subject`'s throughput over `reference`'s, round by round (`reference` time per op / `subject` time per op):
 * the median round by wall time (which carries the target), the worst round by wall time, and the median round by
 * CPU time.
 */
export function roundRatios(
  name: string,
  subject: RoundsResult,
  reference: RoundsResult,
  atLeast: number,
): BenchResult[] {
  const per = (pick: (r: RoundsResult) => readonly number[]) =>
    pick(subject).map((time, round) => pick(reference)[round]! / time);
  const wall = per((r) => r.wallMsPerOp);

  const cpu = per((r) => r.cpuMsPerOp);
  const medianWall = median(wall);
  return [
    {
      name: `${name} (median of ${wall.length} rounds)`,
      value: medianWall,
      unit: 'x',
      target: `>= ${atLeast}`,
      ok: medianWall >= atLeast,
    },
    { name: `${name}, worst round`, value: Math.min(...wall), unit: 'x' },
    { name: `${name}, by CPU time (median round)`, value: median(cpu), unit: 'x' },
  ];
}
