import { describe, expect, it } from 'vitest';
import { describeSecretStoreContract } from '../testing/index.js';
import { MemorySecretStore } from './memory-store.js';

describeSecretStoreContract('MemorySecretStore', async () => ({ store: new MemorySecretStore() }));

describe('MemorySecretStore', () => {
  it('uses a store-wide counter for versions, so a re-created secret never reuses one', async () => {
    const store = new MemorySecretStore();
    const a = await store.put('a', { data: {} });
    const b = await store.put('b', { data: {} });
    await store.delete('a');
    const again = await store.put('a', { data: {} });
    expect([a.version, b.version, again.version]).toEqual(['1', '2', '3']);
  });
});
