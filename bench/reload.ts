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

/** What {@link measureReloadLatency} measures: a store, the TLS secrets it writes in turn, the p99 bound. */
export interface ReloadLatencyRequest {
  /** Names the store in the result. */
  readonly label: string;
  readonly store: SecretStore & Watcher;
  /** Written in turn to `bench-tls`; the first one before the provider starts. */
  readonly inputs: readonly SecretInput[];
  /** p99 bound, milliseconds. */
  readonly targetMs: number;
}

/** Store write -> swapped TLS context latency through one CredentialProvider; closes the store. */
export async function measureReloadLatency(request: ReloadLatencyRequest): Promise<BenchResult> {
  const { label, store, inputs, targetMs } = request;
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
    target: `p99 < ${targetMs} ms`,
    ok: p99Ms < targetMs,
  };
}

/** `count` server TLS secrets for localhost, issued by a fresh test PKI. */
export async function serverSecrets(count: number): Promise<SecretInput[]> {
  const pki = await createTestPki();
  const inputs: SecretInput[] = [];
  for (let i = 0; i < count; i++) {
    inputs.push((await pki.issue({ commonName: `server-${i}`, dnsNames: ['localhost'], profile: 'server' })).secret);
  }
  return inputs;
}

export async function benchReload(): Promise<BenchResult[]> {
  const inputs = await serverSecrets(4);
  const results = [
    await measureReloadLatency({ label: 'memory store', store: new MemorySecretStore(), inputs, targetMs: 50 }),
  ];
  const directory = await mkdtemp(join(tmpdir(), 'certloop-bench-'));
  try {
    results.push(
      await measureReloadLatency({
        label: 'file store',
        store: new FileSecretStore({ directory }),
        inputs,
        targetMs: 50,
      }),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchReload()) console.log(r);
}
