/**
 * Test support (not published): the emulator, a KubernetesSecretStore on it and the installed `kubectl` pointed at
 * it, started once per test file (`beforeAll`) and closed after it (`afterAll`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const run = promisify(execFile);

export interface KubectlFixture {
  readonly emulator: KubernetesApiEmulator;
  /** A store on the emulator, in the fixture's namespace. */
  readonly store: KubernetesSecretStore;
  /** A scratch folder (kubectl's cache is in `<dir>/cache`), removed after the file. */
  readonly dir: string;
  /** kubectl's arguments for `args` against the emulator (its kubeconfig and cache folder first). */
  kubectlArgs(args: readonly string[]): string[];
  /** Runs kubectl with `args` against the emulator; resolves its stdout (30 s bound). */
  kubectl(...args: string[]): Promise<string>;
}

/** Registers, in the calling test file, the emulator serving `namespace`, a store on it and a scratch folder. */
export function kubectlFixture(namespace: string, scratchPrefix: string): KubectlFixture {
  let emulator: KubernetesApiEmulator;
  let store: KubernetesSecretStore;
  let dir: string;
  beforeAll(async () => {
    emulator = await startKubernetesApiEmulator({ namespace });
    store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace });
    dir = await mkdtemp(join(tmpdir(), scratchPrefix));
  });
  afterAll(async () => {
    await store.close();
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubectlArgs = (args: readonly string[]) => [
    '--kubeconfig',
    emulator.kubeconfigPath,
    '--cache-dir',
    join(dir, 'cache'),
    ...args,
  ];
  return {
    get emulator() {
      return emulator;
    },
    get store() {
      return store;
    },
    get dir() {
      return dir;
    },
    kubectlArgs,
    async kubectl(...args) {
      const { stdout } = await run('kubectl', kubectlArgs(args), { timeout: 30_000 });
      return stdout;
    },
  };
}
