/**
 * Ambiguous writes: the API server applies a request and the answer is lost on the way back (a proxy cuts the
 * connection after forwarding it, over real HTTP). The store retries; the retry is refused (409 Conflict for a
 * compare-and-swap PUT, AlreadyExists for a create) although the stored value is the store's own. The write-id
 * the store writes tells it so: the put reports success, never a false CERTLOOP_CONFLICT.
 */
import { isCertloopError } from '@certloop/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ProxiedStores, startProxiedStores } from './proxied-stores.test-support.js';
import type { KubernetesSecretStore } from './secret-store.js';
import type { CuttingProxy } from './testing/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

let stores: ProxiedStores;
let proxy: CuttingProxy;
let store: KubernetesSecretStore;
let direct: KubernetesSecretStore;

beforeEach(async () => {
  stores = await startProxiedStores({}, { retry: { attempts: 5, initialDelayMs: 1, maxDelayMs: 5 } });
  ({ proxy, proxied: store, direct } = stores);
});

afterEach(() => stores.close());

const only = (method: string) => ({ filter: (request: { method: string }) => request.method === method });

describe('KubernetesSecretStore: a write whose answer was lost after the server applied it', () => {
  it('a compare-and-swap PUT: success with the stored version, not CERTLOOP_CONFLICT', async () => {
    const v0 = await store.put('s', { data: { n: bytes('0') } });
    proxy.loseNextAnswers(only('PUT'));
    const v1 = await store.put('s', { data: { n: bytes('1') } }, { expectedVersion: v0.version });
    expect(proxy.stats.lostAnswers).toBe(1);
    const stored = await direct.get('s');
    expect(text(stored?.data.n)).toBe('1');
    expect(v1.version).toBe(stored?.version);
  });

  it('a create (expectedVersion null) retried into AlreadyExists: success', async () => {
    proxy.loseNextAnswers(only('POST'));
    const created = await store.put('s', { data: { n: bytes('1') } }, { expectedVersion: null });
    expect(proxy.stats.lostAnswers).toBe(1);
    expect(created.version).toBe((await direct.get('s'))?.version);
  });

  it('an unconditional write retried after its create applied: success', async () => {
    proxy.loseNextAnswers(only('POST'));
    const written = await store.put('s', { data: { n: bytes('1') } });
    expect(proxy.stats.lostAnswers).toBe(1);
    expect(written.version).toBe((await direct.get('s'))?.version);
  });

  it('a DELETE whose answer was lost reports the delete it made', async () => {
    const v0 = await store.put('s', { data: { n: bytes('0') } });
    proxy.loseNextAnswers(only('DELETE'));
    expect(await store.delete('s', { expectedVersion: v0.version })).toBe(true);
    expect(await direct.get('s')).toBeUndefined();
  });

  it('a real conflict stays a conflict, even when its answer was lost too', async () => {
    const v0 = await store.put('s', { data: { n: bytes('0') } });
    await direct.put('s', { data: { n: bytes('other') } }, { expectedVersion: v0.version });
    proxy.loseNextAnswers(only('PUT'));
    const stale = store.put('s', { data: { n: bytes('1') } }, { expectedVersion: v0.version });
    await expect(stale).rejects.toSatisfy((err) => isCertloopError(err, 'CERTLOOP_CONFLICT'));
    expect(text((await direct.get('s'))?.data.n)).toBe('other');
  });

  it('a compare-and-swap counter through a proxy losing a third of the write answers: every increment reported once, none lost', async () => {
    let current = await store.put('counter', { data: { n: bytes('0') } }, { expectedVersion: null });
    const rounds = 30;
    for (let i = 1; i <= rounds; i++) {
      if (i % 3 === 0) proxy.loseNextAnswers(only('PUT'));
      current = await store.put('counter', { data: { n: bytes(String(i)) } }, { expectedVersion: current.version });
    }
    expect(proxy.stats.lostAnswers).toBe(10);
    const stored = await direct.get('counter');
    expect(text(stored?.data.n)).toBe(String(rounds));
    expect(current.version).toBe(stored?.version);
  });
});
