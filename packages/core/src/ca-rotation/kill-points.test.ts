import { describe, expect, it } from 'vitest';
import { tempDir } from '../ca/test-support.js';
import { systemClock } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import { FileSecretStore } from '../store/file-store.js';
import { StoreIssuanceLedger } from '../store/issuance-ledger.js';
import { MemorySecretStore } from '../store/memory-store.js';
import type { SecretStore } from '../store/types.js';
import { KILL_SCENARIOS, leftBehind, resumedProblems, stateOfA } from './fixtures/kill-checks.js';
import { runScenario } from './fixtures/scenario.js';
import { expectOpensslVerifies, NAMES, relayPki, servedChain } from './test-support.js';

/**
 * The process "dies" right after its N-th write commits: from then on every call of that process fails, so the
 * step in flight goes no further, exactly as after SIGKILL (kill-points.e2e.test.ts does it with real processes
 * on the file store). A new process (a fresh CaRotation on the same store) then finishes the rotation.
 */
function dyingAfter(inner: SecretStore, n: number): SecretStore {
  let writes = 0;
  const dead = () => new CertloopError('CERTLOOP_ABORTED', 'the process was killed');
  const alive = () => {
    if (writes >= n) throw dead();
  };
  const write = async <T>(op: () => Promise<T>): Promise<T> => {
    alive();
    const result = await op();
    writes++;
    alive();
    return result;
  };
  return {
    get: async (name, o) => {
      alive();
      return inner.get(name, o);
    },
    list: async (o) => {
      alive();
      return inner.list(o);
    },
    put: (name, s, o) => write(() => inner.put(name, s, o)),
    delete: (name, o) => write(() => inner.delete(name, o)),
  };
}

async function copyOf(store: MemorySecretStore): Promise<MemorySecretStore> {
  const copy = new MemorySecretStore();
  for (const s of await store.list()) {
    await copy.put(s.name, { type: s.type, data: s.data, labels: s.labels, annotations: s.annotations });
  }
  return copy;
}

describe('CA rotation interrupted after every write of every phase, then resumed (in-process)', () => {
  for (const [ca, scenario] of KILL_SCENARIOS) {
    it(`${ca} ${scenario}: every interruption resumes to a consistent store, nothing issued twice`, async () => {
      const template = new MemorySecretStore();
      await relayPki(template, systemClock);
      const A = await stateOfA(template);
      let total = 0;
      const counter = await copyOf(template);
      const counting: SecretStore = {
        get: (n, o) => counter.get(n, o),
        list: (o) => counter.list(o),
        put: (n, s, o) => {
          total++;
          return counter.put(n, s, o);
        },
        delete: (n, o) => {
          total++;
          return counter.delete(n, o);
        },
      };
      await runScenario(counting, new StoreIssuanceLedger({ store: counting }), scenario, ca);
      expect(total).toBeGreaterThan(10);
      const failed: { point: number; problems: string[] }[] = [];
      for (let point = 1; point <= total; point++) {
        const store = await copyOf(template);
        const dying = dyingAfter(store, point);
        await expect(runScenario(dying, new StoreIssuanceLedger({ store: dying }), scenario, ca)).rejects.toThrow();
        const before = await leftBehind(store, ca);
        const rec = await runScenario(store, new StoreIssuanceLedger({ store }), scenario, ca);
        const problems = await resumedProblems(store, scenario, before, rec, A, ca);
        if (problems.length) failed.push({ point, problems });
      }
      expect(failed).toEqual([]);
      expect(total).toBeGreaterThan(ca === 'root' ? 20 : 10);
    }, 60_000);
  }
});

describe('CA rotation on the file store (the kubelet layout)', () => {
  it('a whole root rotation, then a whole intermediate rotation, leave the store consistent', async () => {
    const dir = await tempDir('certloop-carot-files-');
    try {
      const store = new FileSecretStore({ directory: dir.path });
      await relayPki(store, systemClock);
      for (const ca of ['root', 'intermediate'] as const) {
        const A = await stateOfA(store);
        const before = await leftBehind(store, ca);
        const rec = await runScenario(store, new StoreIssuanceLedger({ store }), 'retire', ca);
        expect(await resumedProblems(store, 'retire', before, rec, A, ca)).toEqual([]);
      }
      const bundle = readTlsMaterial((await store.get(NAMES.root))!).trustBundlePem!;
      await expectOpensslVerifies(await servedChain(store), bundle, new Date(), 'server on files');
    } finally {
      await dir.remove();
    }
  });
});
