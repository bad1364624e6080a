/**
 * A root rotation on Kubernetes Secrets (the emulator, through @kubernetes/client-node): every phase on the
 * Kubernetes store, the record visible to `kubectl get secret relay-ca-rotation -o yaml`, and a second replica
 * resuming a rotation the first left mid-way.
 */
import {
  bootstrapRelayPki,
  CaRotation,
  type CaRotationRecord,
  MemoryIssuanceLedger,
  readTlsMaterial,
  splitPemBundle,
  trustBundleDigest,
} from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { kubectlFixture } from './kubectl.test-support.js';

const NS = 'gloo-mesh';
const k8s = kubectlFixture(NS, 'certloop-carot-k8s-');
const kubectl = (...args: string[]) => k8s.kubectl('-n', NS, ...args);

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
    await bootstrapRelayPki({ store: k8s.store, token: false });
    const ledger = new MemoryIssuanceLedger();
    const first = new CaRotation({ ca: 'root', store: k8s.store, ledger });
    const prepared = await first.prepare({ crossSign: true });

    const shown = await recordByKubectl();
    expect(shown.yaml).toMatch(/^kind: Secret$/m);
    expect(shown.yaml).toMatch(/^ {2}name: relay-ca-rotation$/m);
    expect(shown.yaml).toMatch(/root\.json: /);
    expect(shown.record).toMatchObject({ phase: 'converge', id: prepared.id, ca: 'root', schema: 1 });
    expect(JSON.stringify(shown.record)).not.toContain('PRIVATE KEY');
    const bundle = readTlsMaterial((await k8s.store.get('relay-server-tls-secret'))!).trustBundlePem!;
    expect(trustBundleDigest(bundle)).toBe(prepared.bundles.during);

    // a second replica (another CaRotation on the same Secrets) moves it on
    const second = new CaRotation({ ca: 'root', store: k8s.store, ledger });
    await second.activate();
    expect((await recordByKubectl()).record.phase).toBe('drain');
    await second.drain();
    const retired = await first.retire();
    expect((await recordByKubectl()).record).toMatchObject({ phase: 'retired', revision: retired.revision });
    const after = readTlsMaterial((await k8s.store.get('relay-root-tls-secret'))!).trustBundlePem!;
    expect(splitPemBundle(after)).toEqual([retired.new!.certificatePem]);
    const names = (await kubectl('get', 'secrets', '-o', 'name')).split('\n');
    expect(names.filter((n) => n.startsWith('secret/relay-ca-rotation-'))).toEqual([]);
  });
});
