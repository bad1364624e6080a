/**
 * Bench: a store write reaching a swapped TLS context. For the memory and file stores: `put` a new TLS secret,
 * then wait until the CredentialProvider watching it has validated the material and swapped its SecureContext.
 * Target (DESIGN.md): p99 under 50 ms.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CredentialProvider,
  FileSecretStore,
  MemorySecretStore,
  type SecretInput,
  type SecretStore,
  type Watcher,
} from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { type BenchResult, LatencySamples } from './types.js';

const WRITES = 200;

async function measure(label: string, store: SecretStore & Watcher, inputs: SecretInput[]): Promise<BenchResult> {
  await store.put('bench-tls', inputs[0]!);
  const provider = new CredentialProvider({ name: 'bench-tls', watcher: store, usage: 'serverAuth' });
  await provider.start();
  await provider.ready();
  const samples = new LatencySamples();
  for (let i = 1; i <= WRITES; i++) {
    const swapped = new Promise<void>((resolve) => {
      const off = provider.subscribe((e) => {
        if (e.type === 'updated') {
          off();
          resolve();
        }
      });
    });
    const t0 = performance.now();
    await store.put('bench-tls', inputs[i % inputs.length]!);
    await swapped;
    samples.push(performance.now() - t0);
  }
  provider.close();
  await store.close();
  const { p50Ms, p99Ms } = samples.percentiles();
  return {
    name: `store write -> swapped TLS context (${label})`,
    p50Ms,
    p99Ms,
    target: 'p99 < 50 ms',
    ok: p99Ms < 50,
  };
}

export async function benchReload(): Promise<BenchResult[]> {
  const pki = await createTestPki();
  const inputs: SecretInput[] = [];
  for (let i = 0; i < 4; i++) {
    inputs.push((await pki.issue({ commonName: `server-${i}`, dnsNames: ['localhost'], profile: 'server' })).secret);
  }
  const results = [await measure('memory store', new MemorySecretStore(), inputs)];
  const directory = await mkdtemp(join(tmpdir(), 'certloop-bench-'));
  try {
    results.push(await measure('file store', new FileSecretStore({ directory }), inputs));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchReload()) console.log(r);
}
