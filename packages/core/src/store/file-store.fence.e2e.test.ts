/**
 * End to end, at the real default bounds (npm run test:e2e): a writer SIGSTOPped inside its write blocks another
 * writer at the default options only until the default staleLockMs (30 s) has passed, never for the whole pause;
 * the default lockTimeoutMs (45 s) outlasts it. The same scenario with short bounds runs in npm test
 * (file-store.fence.test.ts).
 */
import { describe, it } from 'vitest';
import { casLoopSandbox, pausedHolderScenario } from './fixtures/paused-holder.js';

describe('FileSecretStore: a paused lock holder at the default options (real time)', () => {
  const sandbox = casLoopSandbox('certloop-fence-e2e-');

  it('a writer SIGSTOPped inside its write loses its lock after the default staleLockMs to a writer at the default options, and its late commit conflicts', async () => {
    await pausedHolderScenario(sandbox.directory, sandbox.start, { staleLockMs: 'default', lockTimeoutMs: 'default' });
  }, 120_000);
});
