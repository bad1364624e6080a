import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSecretStore } from './file-store.js';
import { childOutput, exited, startChild, waitForOutput } from './fixtures/run-child.js';

const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

describe('FileSecretStore across processes', () => {
  let root: string;
  let directory: string;
  const children: ChildProcess[] = [];
  const start = (script: string, args: string[]) => {
    const child = startChild(script, args);
    children.push(child);
    return child;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-file-process-'));
    directory = join(root, 'secrets');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await rm(root, { recursive: true, force: true });
  });

  it('compare-and-swap holds between two processes racing increments: no lost update', async () => {
    const perChild = 40;
    const racers = [1, 2].map(() => start('cas-incrementer.ts', [directory, 'counter', String(perChild)]));
    const outputs = racers.map(childOutput);
    await Promise.all(racers.map((child) => waitForOutput(child, 'ready')));
    for (const child of racers) child.stdin?.end('go\n');
    const results = await Promise.all(outputs);
    const store = new FileSecretStore({ directory });
    expect(text((await store.get('counter'))?.data.n)).toBe(String(2 * perChild));
    const conflicts = results.map((output) => Number(/done (\d+)/.exec(output)?.[1]));
    // both ran at once: at least one of them lost some races and retried
    expect(conflicts.reduce((a, b) => a + b)).toBeGreaterThan(0);
  });

  it('a writer killed with SIGKILL at random points leaves every secret whole, and the store working', async () => {
    const names = ['alpha', 'bravo', 'charlie'];
    const store = new FileSecretStore({ directory, lockTimeoutMs: 5_000, staleLockMs: 4_000 });
    let generation = 1;
    for (let round = 0; round < 4; round++) {
      const child = start('crash-writer.ts', [directory, names.join(','), String(generation)]);
      await waitForOutput(child, 'writing');
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 180));
      child.kill('SIGKILL');
      await exited(child);
      for (const name of names) {
        const secret = await store.get(name);
        expect(secret).toBeDefined();
        const values = new Set(Object.values(secret!.data).map(text));
        // every key of one read carries one generation: never a mix of two writes
        expect(values.size).toBe(1);
        const written = Number([...values][0]!.replace('generation-', ''));
        expect(secret!.labels.generation).toBe(String(written));
        expect('extra' in secret!.data).toBe(written % 2 === 1);
        generation = Math.max(generation, written + 1);
      }
    }
    // the store still works after the crashes: the dead writer's lock is recovered and leftovers are tidied
    for (const name of names) {
      const current = (await store.get(name))!;
      const next = await store.put(
        name,
        { data: { 'tls.crt': new Uint8Array([1]) } },
        { expectedVersion: current.version },
      );
      expect((await store.get(name))?.version).toBe(next.version);
      const entries = (await readdir(join(directory, name))).sort();
      expect(entries).toEqual(['..data', next.version, 'tls.crt'].sort());
    }
    expect((await store.list()).map((secret) => secret.name)).toEqual(names);
  });
});
