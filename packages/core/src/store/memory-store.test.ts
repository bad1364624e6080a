import { describe, expect, it } from 'vitest';
import { describeSecretStoreContract, describeWatcherContract } from '../testing/index.js';
import { MemorySecretStore } from './memory-store.js';

describeSecretStoreContract('MemorySecretStore', async () => ({ store: new MemorySecretStore() }));

describeWatcherContract('MemorySecretStore', async () => {
  const store = new MemorySecretStore();
  return { store, watcher: store };
});

describe('MemorySecretStore', () => {
  it('uses a store-wide counter for versions, so a re-created secret never reuses one', async () => {
    const store = new MemorySecretStore();
    const a = await store.put('a', { data: {} });
    const b = await store.put('b', { data: {} });
    await store.delete('a');
    const again = await store.put('a', { data: {} });
    expect([a.version, b.version, again.version]).toEqual(['1', '2', '3']);
  });

  it('coalesces writes a slow consumer missed to the latest state, never repeating one already seen', async () => {
    const store = new MemorySecretStore();
    const events = store.watch('slow');
    expect(await events.next()).toMatchObject({ value: { type: 'initial', secret: undefined } });
    let last = '';
    for (let i = 0; i < 10; i++) last = (await store.put('slow', { data: {} })).version;
    expect(await events.next()).toMatchObject({ value: { type: 'updated', secret: { version: last } } });
    await store.delete('slow');
    expect(await events.next()).toMatchObject({ value: { type: 'deleted' } });
    // created, deleted and created again before the consumer looked: only the latest state is reported
    await store.put('slow', { data: {} });
    await store.delete('slow');
    const again = await store.put('slow', { data: {} });
    expect(await events.next()).toMatchObject({ value: { type: 'updated', secret: { version: again.version } } });
    await store.close();
  });

  it('an initial state not yet consumed becomes the latest state, still as initial', async () => {
    const store = new MemorySecretStore();
    const events = store.watch('late');
    const put = await store.put('late', { data: {} });
    expect(await events.next()).toMatchObject({ value: { type: 'initial', secret: { version: put.version } } });
    await store.close();
  });
});
