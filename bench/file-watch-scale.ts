/**
 * Bench: 10,000 watched file secrets in one FileSecretStore. Runs the built package (`npm run bench` builds it
 * first) in a fresh plain-Node child: time until every watch has delivered its `initial` event, resident memory,
 * CPU while idle (over a window longer than one safety-net poll round, so the poll's cost is in the figure), and
 * the latency of a kubelet-style update (one `..data` rename) to its event. Targets (issue 11): start under 2 s, under
 * 150 MiB RSS, under 2 % of a core idle, update p99 under 100 ms.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from './types.js';

const COUNT = 10_000;
// the safety-net poll runs every max(10 s, 2 ms per secret) = 20 s at 10,000 secrets: the window covers a round
const IDLE_MS = 25_000;

/** TLS-sized values (about 800 bytes each, as a P-256 chain and key are). */
function tlsFiles(): Record<string, string> {
  const pem = (label: string) =>
    `-----BEGIN ${label}-----\n${`${'A'.repeat(64)}\n`.repeat(12)}-----END ${label}-----\n`;
  return { 'tls.crt': pem('CERTIFICATE'), 'tls.key': pem('PRIVATE KEY'), 'ca.crt': pem('CERTIFICATE') };
}

/** Lays out `count` secrets by hand in the kubelet layout (here, so the measured child only watches). */
function layOut(directory: string, count: number, files: Record<string, string>): void {
  for (let i = 0; i < count; i++) {
    const secretDir = join(directory, `secret-${i}`);
    const dataDir = '..2026_01_01_00_00_00.bench';
    mkdirSync(join(secretDir, dataDir), { recursive: true });
    for (const [key, value] of Object.entries(files)) {
      writeFileSync(join(secretDir, dataDir, key), value);
      symlinkSync(`..data/${key}`, join(secretDir, key));
    }
    symlinkSync(dataDir, join(secretDir, '..data'));
  }
}

export async function benchFileWatchScale(): Promise<BenchResult[]> {
  const script = fileURLToPath(new URL('./file-watch-scale-child.mjs', import.meta.url));
  const root = mkdtempSync(join(tmpdir(), 'certloop-watch-scale-'));
  const files = tlsFiles();
  let stdout: string;
  try {
    layOut(join(root, 'secrets'), COUNT, files);
    ({ stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', script, join(root, 'secrets'), String(COUNT), String(IDLE_MS), '300', JSON.stringify(files)],
      { maxBuffer: 1 << 20, timeout: 300_000 },
    ));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const figures = JSON.parse(stdout) as {
    startMs: number;
    rss: number;
    baseline: number;
    idleCpuPercent: number;
    p50Ms: number;
    p99Ms: number;
  };
  const mb = figures.rss / (1024 * 1024);
  return [
    {
      name: `start watching ${COUNT} file secrets`,
      value: figures.startMs / 1000,
      unit: ' s',
      target: '< 2 s',
      ok: figures.startMs < 2_000,
    },
    { name: `RSS watching ${COUNT} file secrets`, value: mb, unit: ' MiB', target: '< 150 MiB', ok: mb < 150 },
    {
      name: `idle CPU watching ${COUNT} file secrets`,
      value: figures.idleCpuPercent,
      unit: ' % of a core',
      target: '< 2 %',
      ok: figures.idleCpuPercent < 2,
    },
    {
      name: `file secret update to its watch event (${COUNT} watched)`,
      p50Ms: figures.p50Ms,
      p99Ms: figures.p99Ms,
      target: 'p99 < 100 ms',
      ok: figures.p99Ms < 100,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchFileWatchScale());
