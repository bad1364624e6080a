/**
 * End to end, at the real default bounds (npm run test:e2e): a writer SIGSTOPped inside its write blocks another
 * writer at the default options only until the default staleLockMs (30 s) has passed, never for the whole pause;
 * the default lockTimeoutMs (45 s) outlasts it. The same scenario with short bounds runs in npm test
 * (file-store.fence.test.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { pausedHolderScenario } from './fixtures/paused-holder.js';
import { exited, startChild } from './fixtures/run-child.js';

describe('FileSecretStore: a paused lock holder at the default options (real time)', () => {
  let root: string;
  let directory: string;
  const children: ChildProcess[] = [];
  const start = (args: string[]) => {
    const child = startChild('cas-loop.ts', [directory, 'counter', ...args]);
    children.push(child);
    return child;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-fence-e2e-'));
    directory = join(root, 'secrets');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited(child);
    }
    await rm(root, { recursive: true, force: true });
  });

  it('a writer SIGSTOPped inside its write loses its lock after the default staleLockMs to a writer at the default options, and its late commit conflicts', async () => {
    await pausedHolderScenario(directory, start, { staleLockMs: 'default', lockTimeoutMs: 'default' });
  }, 120_000);
});
