import type { ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSecretStore } from './file-store.js';
import { exited, startChild, waitForOutput } from './fixtures/run-child.js';

const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects the values a cas-loop child reports as committed. */
function committedValues(child: ChildProcess): number[] {
  const values: number[] = [];
  let rest = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('ok ')) values.push(Number(line.slice(3)));
  });
  return values;
}

describe('FileSecretStore compare-and-swap when the lock does not hold', () => {
  let root: string;
  let directory: string;
  const children: ChildProcess[] = [];
  const start = (args: string[]) => {
    const child = startChild('cas-loop.ts', [directory, 'counter', ...args]);
    children.push(child);
    return child;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-fence-'));
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

  it('a writer paused inside its write past the default staleLockMs loses its lock, and its late commit conflicts', async () => {
    const store = new FileSecretStore({ directory });
    await store.put('counter', { data: { n: new TextEncoder().encode('0') } });
    const before = await readlink(join(directory, 'counter', '..data'));
    await mkdir(join(directory, '.locks'), { recursive: true });
    // the paused writer: slow writes (1 MB of filler, fsynced), stopped as soon as its lock file appears
    let paused: ChildProcess | undefined;
    for (let attempt = 0; attempt < 20 && !paused; attempt++) {
      const candidate = start(['default', String(900_000), '1']);
      await waitForOutput(candidate, 'ready');
      const stopped = new Promise<boolean>((resolve) => {
        const watcher = watch(join(directory, '.locks'), (_event, file) => {
          if (file !== 'counter') return;
          candidate.kill('SIGSTOP');
          watcher.close();
          resolve(true);
        });
        candidate.once('exit', () => {
          watcher.close();
          resolve(false);
        });
      });
      if (!(await stopped)) continue;
      // only a stop after its read and before its claim proves anything: nothing of it committed or claimed yet
      const entries = await readdir(join(directory, 'counter'));
      const unclaimed = !entries.some((entry) => entry.startsWith('..claim.'));
      if (unclaimed && (await readlink(join(directory, 'counter', '..data'))) === before) paused = candidate;
      else {
        candidate.kill('SIGCONT');
        await exited(candidate);
        await store.put('counter', { data: { n: new TextEncoder().encode('0') } });
      }
    }
    expect(paused).toBeDefined();
    const pausedValues = committedValues(paused!);
    let pausedOutput = '';
    paused!.stdout?.on('data', (chunk: string) => {
      pausedOutput += chunk;
    });
    // another writer at default settings waits the stale bound out, breaks the lock, and increments 5 times
    const other = start(['default', '0', '5']);
    const otherValues = committedValues(other);
    await exited(other);
    expect(other.exitCode).toBe(0);
    expect(otherValues).toHaveLength(5);
    paused!.kill('SIGCONT');
    await exited(paused!);
    expect(paused!.exitCode).toBe(0);
    // its first attempt, against the version it read before the pause, conflicted; its retry committed
    expect(Number(/done (\d+)/.exec(pausedOutput)?.[1])).toBeGreaterThanOrEqual(1);
    const all = [...pausedValues, ...otherValues];
    expect(new Set(all).size).toBe(6);
    expect(text((await store.get('counter'))?.data.n)).toBe('6');
  }, 120_000);

  it('3 writers under random SIGSTOP, SIGCONT and SIGKILL lose no increment', async () => {
    const store = new FileSecretStore({ directory });
    await store.put('counter', { data: { n: new TextEncoder().encode('0') } });
    // a tiny stale bound, so that pauses break locks all the time
    const spawnOne = () => {
      const child = start(['100', '20000']);
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
