/**
 * certloop benchmarks: the result shape every bench returns, and small measuring helpers they share.
 */
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  readonly name: string;
  readonly opsPerSecond?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** A figure that is not a rate (a ratio, a size, a duration). */
  readonly value?: number;
  readonly unit?: string;
  /** The target in words, e.g. `>= 0.5`. */
  readonly target?: string;
  /** Whether the target was met; absent when there is no target. */
  readonly ok?: boolean;
}

export interface MeasureOptions {
  /** How long to run before measuring, to let the JIT settle. Default 500 ms. */
  readonly warmupMs?: number;
  /** How long to measure. Default 2500 ms. */
  readonly durationMs?: number;
}

/** Latencies in milliseconds, growing as needed, with percentiles of what was recorded. */
export class LatencySamples {
  #values = new Float64Array(1 << 14);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(ms: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = ms;
  }

  /** p50 and p99 in milliseconds (NaN when empty). */
  percentiles(): { p50Ms: number; p99Ms: number } {
    const sorted = this.#values.subarray(0, this.#count).sort();
    const at = (p: number) =>
      sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    return { p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}

export interface BenchOp {
  readonly name: string;
  readonly op: () => unknown;
}

/**
 * Measures several operations in turns of `sliceMs` each (round-robin) until each has run `durationMs`, so that
 * load from other processes on a shared machine falls on all of them alike and their ratios stay meaningful.
 */
export async function measureInterleaved(
  ops: readonly BenchOp[],
  options: MeasureOptions & { readonly sliceMs?: number } = {},
): Promise<(BenchResult & { opsPerSecond: number })[]> {
  const sliceMs = options.sliceMs ?? 100;
  const warmupMs = options.warmupMs ?? 500;
  for (const { op } of ops) {
    const end = performance.now() + warmupMs;
    while (performance.now() < end) await op();
  }
  const state = ops.map(() => ({ elapsed: 0, samples: new LatencySamples() }));
  const durationMs = options.durationMs ?? 2500;
  while (state.some((s) => s.elapsed < durationMs)) {
    for (const [i, { op }] of ops.entries()) {
      const s = state[i]!;
      if (s.elapsed >= durationMs) continue;
      const sliceStart = performance.now();
      const sliceEnd = sliceStart + sliceMs;
      let now = sliceStart;
      while (now < sliceEnd) {
        const before = now;
        await op();
        now = performance.now();
        s.samples.push(now - before);
      }
      s.elapsed += now - sliceStart;
    }
  }
  return ops.map(({ name }, i) => {
    const s = state[i]!;
    return { name, opsPerSecond: (s.samples.count / s.elapsed) * 1000, ...s.samples.percentiles() };
  });
}

/** A ratio result against a lower bound target. */
export function ratio(name: string, value: number, atLeast: number): BenchResult {
  return { name, value, unit: 'x', target: `>= ${atLeast}`, ok: value >= atLeast };
}

/** A plain-text table of results. */
export function formatResults(results: readonly BenchResult[]): string {
  const rows = results.map((r) => [
    r.name,
    r.opsPerSecond === undefined ? '' : `${r.opsPerSecond.toFixed(0)}/s`,
    r.p50Ms === undefined ? '' : `${r.p50Ms.toFixed(3)} ms`,
    r.p99Ms === undefined ? '' : `${r.p99Ms.toFixed(3)} ms`,
    r.value === undefined ? '' : `${r.value.toFixed(2)}${r.unit ?? ''}`,
    r.target ?? '',
    r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED',
  ]);
  const header = ['benchmark', 'rate', 'p50', 'p99', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
