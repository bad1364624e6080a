/**
 * `npm run fuzz`: the DER differential and mutation suite (packages/core/src/x509/fuzz) run long.
 * CERTLOOP_FUZZ_RUNS sets the cases per property (default 5000; `npm test` runs a few hundred),
 * CERTLOOP_FUZZ_SEED the fast-check seed (default: a fresh one, printed so a failure can be replayed).
 */
import { spawnSync } from 'node:child_process';

const env = {
  ...process.env,
  CERTLOOP_FUZZ_RUNS: process.env.CERTLOOP_FUZZ_RUNS ?? '5000',
  CERTLOOP_FUZZ_SEED: process.env.CERTLOOP_FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31)),
};
console.log(`fuzz: ${env.CERTLOOP_FUZZ_RUNS} cases per property, seed ${env.CERTLOOP_FUZZ_SEED}`);
const result = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    '--project',
    'core',
    '--testTimeout',
    '0',
    'packages/core/src/x509/fuzz/',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
