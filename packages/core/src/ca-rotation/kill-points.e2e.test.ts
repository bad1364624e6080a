import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock/clock.js';
import { FileSecretStore } from '../store/file-store.js';
import { StoreIssuanceLedger } from '../store/issuance-ledger.js';
import { KILL_SCENARIOS, leftBehind, resumedProblems, type StateOfA, stateOfA } from './fixtures/kill-checks.js';
import { runScenario } from './fixtures/scenario.js';
import { relayPki } from './test-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const PARALLEL = 3;
/** The child, bundled once by esbuild, so each of the many children starts in milliseconds (no tsx per start). */
let childScript = '';

function runChild(
  directory: string,
  scenario: string,
  killAt: number,
  ca: string,
): Promise<{ signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, directory, scenario, String(killAt), ca], {
      cwd: here,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve({ signal, out });
      else reject(new Error(`kill-child exited with ${code ?? signal}`));
    });
  });
}

describe('CA rotation killed (SIGKILL) after every write of every phase, then resumed', () => {
  let template: string;
  let work: string;
  let A: StateOfA = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'certloop-carot-kill-'));
    template = join(work, 'template');
    childScript = join(work, 'kill-child.mjs');
    await build({
      entryPoints: [join(here, 'fixtures/kill-child.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['source'],
      outfile: childScript,
      logLevel: 'error',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    const store = new FileSecretStore({ directory: template });
    await relayPki(store, systemClock);
    A = await stateOfA(store);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  for (const [ca, scenario] of KILL_SCENARIOS) {
    it(`${ca} ${scenario}: every kill point resumes to a consistent store, nothing issued twice`, async () => {
      const full = join(work, `${ca}-${scenario}-full`);
      await cp(template, full, { recursive: true, verbatimSymlinks: true });
      const { out } = await runChild(full, scenario, 0, ca);
      const total = Number(/writes (\d+)/.exec(out)?.[1]);
      expect(total).toBeGreaterThan(10);

      const points = Array.from({ length: total }, (_, i) => i + 1);
      const results: { point: number; problems: string[] }[] = [];
      const runPoint = async (point: number) => {
        const directory = join(work, `${ca}-${scenario}-${point}`);
        await cp(template, directory, { recursive: true, verbatimSymlinks: true });
        const killed = await runChild(directory, scenario, point, ca);
        const problems: string[] = [];
        if (killed.signal !== 'SIGKILL') problems.push('not killed');
        const store = new FileSecretStore({ directory });
        const before = await leftBehind(store, ca);
        const rec = await runScenario(store, new StoreIssuanceLedger({ store }), scenario, ca);
        problems.push(...(await resumedProblems(store, scenario, before, rec, A, ca)));
        results.push({ point, problems });
      };
      for (let i = 0; i < points.length; i += PARALLEL) {
        await Promise.all(points.slice(i, i + PARALLEL).map(runPoint));
      }
      console.log(`kill points (${ca} ${scenario}): ${results.length} of ${total} writes, all resumed`);
      expect(results.filter((r) => r.problems.length > 0)).toEqual([]);
      expect(results).toHaveLength(total);
    }, 600_000);
  }
});
