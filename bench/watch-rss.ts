/**
 * Bench: resident memory of one process watching 10,000 TLS secrets in the memory store. Runs the built package
 * (`npm run bench` builds it first) in a fresh plain-Node child, so the figure is what a user's process pays.
 * Target (DESIGN.md): under 150 MB RSS.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from './types.js';

const COUNT = 10_000;

export async function benchWatchRss(): Promise<BenchResult[]> {
  const script = fileURLToPath(new URL('./watch-rss-child.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, String(COUNT)], {
    maxBuffer: 1 << 20,
  });
  const { rss, baseline } = JSON.parse(stdout) as { rss: number; baseline: number };
  const mb = rss / (1024 * 1024);
  return [
    {
      name: `RSS watching ${COUNT} secrets (memory store)`,
      value: mb,
      unit: ' MiB',
      target: '< 150 MiB',
      ok: mb < 150,
    },
    { name: 'RSS of the same process before any secret', value: baseline / (1024 * 1024), unit: ' MiB' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchWatchRss());
