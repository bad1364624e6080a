import { describe, expect, it } from 'vitest';
import { FileSecretStore } from './file-store.js';
import { casLoopSandbox, committedValues, pausedHolderScenario } from './fixtures/paused-holder.js';
import { exited } from './fixtures/run-child.js';

const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('FileSecretStore compare-and-swap when the lock does not hold', () => {
  const sandbox = casLoopSandbox('certloop-fence-');

  it('a writer SIGSTOPped inside its write loses its lock to a writer waiting past staleLockMs (short bounds, default lockTimeoutMs), and its late commit conflicts', async () => {
    // the real default bounds (30 s) run in file-store.fence.e2e.test.ts
    await pausedHolderScenario(sandbox.directory, sandbox.start, { staleLockMs: '300', lockTimeoutMs: 'default' });
  }, 60_000);

  it('3 writers under random SIGSTOP, SIGCONT and SIGKILL lose no increment', async () => {
    const store = new FileSecretStore({ directory: sandbox.directory });
    await store.put('counter', { data: { n: new TextEncoder().encode('0') } });
    // a tiny stale bound, so that pauses break locks all the time
    const spawnOne = () => {
      const child = sandbox.start(['100', '20000', 'Infinity', '120000']);
      return { child, values: committedValues(child), stopped: false };
    };
    const slots = [spawnOne(), spawnOne(), spawnOne()];
    const reported: number[][] = [];
    let kills = 0;
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      await delay(20 + Math.random() * 200);
      const slot = slots[Math.floor(Math.random() * slots.length)]!;
      const roll = Math.random();
      if (roll < 0.15) {
        slot.child.kill('SIGKILL');
        await exited(slot.child);
        kills++;
        reported.push(slot.values);
        Object.assign(slot, spawnOne());
      } else if (slot.stopped) {
        slot.child.kill('SIGCONT');
        slot.stopped = false;
      } else {
        slot.child.kill('SIGSTOP');
        slot.stopped = true;
      }
    }
    for (const slot of slots) {
      slot.child.kill('SIGCONT');
      slot.child.kill('SIGKILL');
      await exited(slot.child);
      kills++;
      reported.push(slot.values);
    }
    const values = reported.flat();
    const final = Number(text((await store.get('counter'))?.data.n));
    // every committed increment wrote a value no other one wrote: none was lost under another
    expect(new Set(values).size).toBe(values.length);
    expect(values.length).toBeGreaterThan(20);
    // the counter holds every reported increment, plus at most one unreported per killed writer
    expect(final).toBeGreaterThanOrEqual(Math.max(...values));
    expect(final).toBeGreaterThanOrEqual(values.length);
    expect(final - values.length).toBeLessThanOrEqual(kills);
    // and the store still works: a fresh write after all the kills
    const current = (await store.get('counter'))!;
    await store.put(
      'counter',
      { data: { n: new TextEncoder().encode(String(final + 1)) } },
      { expectedVersion: current.version },
    );
    expect(text((await store.get('counter'))?.data.n)).toBe(String(final + 1));
    console.log(`fence chaos: ${values.length} increments reported, counter ${final}, ${kills} kills`);
  }, 60_000);
});
