/**
 * A root rotation on Kubernetes Secrets (the emulator, through @kubernetes/client-node): every phase on the
 * Kubernetes store, the record visible to `kubectl get secret relay-ca-rotation -o yaml`, and a second replica
 * resuming a rotation the first left mid-way.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  bootstrapRelayPki,
  CaRotation,
  type CaRotationRecord,
  MemoryIssuanceLedger,
  readTlsMaterial,
  splitPemBundle,
  trustBundleDigest,
} from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const run = promisify(execFile);
const NS = 'gloo-mesh';
let emulator: KubernetesApiEmulator;
let store: KubernetesSecretStore;
let dir: string;

beforeAll(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: NS });
  store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: NS });
  dir = await mkdtemp(join(tmpdir(), 'certloop-carot-k8s-'));
});
afterAll(async () => {
  await store.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(
    'kubectl',
    ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', join(dir, 'cache'), '-n', NS, ...args],
    { timeout: 30_000 },
  );
  return stdout;
}

/** The root record as kubectl shows it (`-o yaml`, data base64). */
async function recordByKubectl(): Promise<{ yaml: string; record: CaRotationRecord }> {
  const yaml = await kubectl('get', 'secret', 'relay-ca-rotation', '-o', 'yaml');
  const json = JSON.parse(await kubectl('get', 'secret', 'relay-ca-rotation', '-o', 'json')) as {
    data: Record<string, string>;
  };
  return { yaml, record: JSON.parse(Buffer.from(json.data['root.json']!, 'base64').toString('utf8')) };
}

describe('CA rotation on Kubernetes Secrets', () => {
  it('rotates the root; kubectl shows the record through the phases; a second replica finishes what the first began', async () => {
    await bootstrapRelayPki({ store, token: false });
    const ledger = new MemoryIssuanceLedger();
    const first = new CaRotation({ ca: 'root', store, ledger });
    const prepared = await first.prepare({ crossSign: true });

    const shown = await recordByKubectl();
    expect(shown.yaml).toMatch(/^kind: Secret$/m);
    expect(shown.yaml).toMatch(/^ {2}name: relay-ca-rotation$/m);
    expect(shown.yaml).toMatch(/root\.json: /);
    expect(shown.record).toMatchObject({ phase: 'converge', id: prepared.id, ca: 'root', schema: 1 });
    expect(JSON.stringify(shown.record)).not.toContain('PRIVATE KEY');
    const bundle = readTlsMaterial((await store.get('relay-server-tls-secret'))!).trustBundlePem!;
    expect(trustBundleDigest(bundle)).toBe(prepared.bundles.during);

    // a second replica (another CaRotation on the same Secrets) moves it on
    const second = new CaRotation({ ca: 'root', store, ledger });
    await second.activate();
    expect((await recordByKubectl()).record.phase).toBe('drain');
    await second.drain();
    const retired = await first.retire();
    expect((await recordByKubectl()).record).toMatchObject({ phase: 'retired', revision: retired.revision });
    const after = readTlsMaterial((await store.get('relay-root-tls-secret'))!).trustBundlePem!;
    expect(splitPemBundle(after)).toEqual([retired.new!.certificatePem]);
    const names = (await kubectl('get', 'secrets', '-o', 'name')).split('\n');
    expect(names.filter((n) => n.startsWith('secret/relay-ca-rotation-'))).toEqual([]);
  });
});
