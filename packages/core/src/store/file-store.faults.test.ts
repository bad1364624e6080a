/**
 * Fault injection on real files: every filesystem step of `put` and `delete` is made to fail once (EACCES, through
 * the fs seam), and afterwards the secret must be whole (the old or the new version; the new one if the call
 * reported success) and the very next compare-and-swap write and delete must succeed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertloopError } from '../errors.js';
import { type FsStep, setFsFaultInjector } from '../lib/fs-seam.js';
import { FileSecretStore } from './file-store.js';
import type { Secret, SecretInput } from './types.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

const v0: SecretInput = { data: { a: bytes('a0'), b: bytes('b0') }, labels: { gen: '0' } };
const v1: SecretInput = { data: { b: bytes('b1'), c: bytes('c1') }, labels: { gen: '1' } };
const v2: SecretInput = { data: { d: bytes('d2') }, labels: { gen: '2' } };

/** A comparable picture of a secret's content (or of its absence). */
function content(secret: Secret | SecretInput | undefined): string {
  if (!secret) return 'missing';
  const data = Object.entries(secret.data)
    .map(([key, value]) => `${key}=${text(value)}`)
    .sort();
  return JSON.stringify({ data, labels: secret.labels ?? {} });
}

interface Scenario {
  readonly name: string;
  /** The state before the operation. */
  readonly before: SecretInput | undefined;
  /** The state once the operation succeeded. */
  readonly after: SecretInput | undefined;
  readonly run: (store: FileSecretStore, current: Secret | undefined) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  {
    name: 'first put (compare-and-swap on a missing secret, in a store directory not made yet)',
    before: undefined,
    after: v1,
    run: (store) => store.put('s', v1, { expectedVersion: null }),
  },
  {
    name: 'compare-and-swap put changing the keys',
    before: v0,
    after: v1,
    run: (store, current) => store.put('s', v1, { expectedVersion: current!.version }),
  },
  {
    name: 'unconditional put',
    before: v0,
    after: v1,
    run: (store) => store.put('s', v1),
  },
  {
    name: 'compare-and-swap delete',
    before: v0,
    after: undefined,
    run: (store, current) => store.delete('s', { expectedVersion: current!.version }),
  },
  {
    name: 'unconditional delete',
    before: v0,
    after: undefined,
    run: (store) => store.delete('s'),
  },
];

describe('FileSecretStore: a failure at any filesystem step of put and delete blocks nothing and loses nothing', () => {
  let root: string;
  let case_ = 0;
  beforeAll(async () => {
    // tmpfs where there is one: the same syscalls, without waiting for the disk on every fsync
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    root = await mkdtemp(join(base, 'certloop-faults-'));
  });
  afterEach(() => setFsFaultInjector(undefined));
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A fresh store holding `before`. */
  async function prepare(before: SecretInput | undefined): Promise<FileSecretStore> {
    const store = new FileSecretStore({ directory: join(root, `case-${case_++}`), fsWatch: false });
    if (before) await store.put('s', before);
    return store;
  }

  /** Runs the scenario with the `failAt`-th step (counting from 0) failing; resolves how many steps it made. */
  async function runWithFault(scenario: Scenario, failAt: number): Promise<{ steps: number; failed: FsStep[] }> {
    const store = await prepare(scenario.before);
    const current = await store.get('s');
    let steps = 0;
    const failed: FsStep[] = [];
    setFsFaultInjector((step, path) => {
      if (!path.startsWith(store.directory)) return;
      if (steps++ === failAt) {
        failed.push(step);
        throw Object.assign(new Error(`EACCES: injected at ${step} ${path}`), { code: 'EACCES', syscall: step, path });
      }
    });
    let outcome: 'ok' | CertloopError;
    try {
      await scenario.run(store, current);
      outcome = 'ok';
    } catch (err) {
      outcome = err as CertloopError;
    } finally {
      setFsFaultInjector(undefined);
    }
    if (outcome !== 'ok') {
      // a typed error naming the I/O failure, never a false conflict
      expect(outcome).toBeInstanceOf(CertloopError);
      expect(outcome.code, `${scenario.name}, step ${failAt} (${failed[0]})`).toBe('CERTLOOP_STORE_IO');
    }
    // the secret is whole: the old state or the new one, and the new one when the call reported success
    const seen = content(await store.get('s'));
    const allowed = outcome === 'ok' ? [content(scenario.after)] : [content(scenario.before), content(scenario.after)];
    expect(allowed, `${scenario.name}, step ${failAt} (${failed[0]}): ${seen}`).toContain(seen);
    // and the next compare-and-swap write and delete go through at once
    const now = await store.get('s');
    const written = await store.put('s', v2, { expectedVersion: now?.version ?? null });
    expect(content(await store.get('s'))).toBe(content(v2));
    const again = await store.put('s', v0, { expectedVersion: written.version });
    expect(await store.delete('s', { expectedVersion: again.version })).toBe(true);
    expect(await store.get('s')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    return { steps, failed };
  }

  for (const scenario of scenarios) {
    it(`${scenario.name}: each step failing in turn`, async () => {
      const { steps } = await runWithFault(scenario, Number.POSITIVE_INFINITY);
      expect(steps).toBeGreaterThan(3);
      const kinds = new Set<FsStep>();
      for (let failAt = 0; failAt < steps; failAt++) {
        const { failed } = await runWithFault(scenario, failAt);
        for (const step of failed) kinds.add(step);
      }
      // the run covered the write path's kinds of step, not only reads
      expect([...kinds]).toEqual(expect.arrayContaining(['open', 'rename', 'readlink']));
    });
  }
});
