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

  it('hands every watcher of a version the same stored snapshot, while get, list and put give copies', async () => {
    const store = new MemorySecretStore();
    const a = store.watch('shared');
    const b = store.watch('shared');
    await a.next();
    await b.next();
    const put = await store.put('shared', { data: { k: new TextEncoder().encode('abc') } });
    const fromA = (await a.next()).value;
    const fromB = (await b.next()).value;
    if (fromA?.type !== 'updated' || fromB?.type !== 'updated') throw new Error('expected updated events');
    expect(fromA.secret).toBe(fromB.secret);
    const got = (await store.get('shared'))!;
    expect(got).toEqual(fromA.secret);
    expect(got).not.toBe(fromA.secret);
    expect(got.data.k).not.toBe(fromA.secret.data.k);
    expect(put.data.k).not.toBe(fromA.secret.data.k);
    expect((await store.list())[0]!.data.k).not.toBe(fromA.secret.data.k);
    // a later watch starts from that same snapshot
    expect((await store.watch('shared').next()).value).toMatchObject({ type: 'initial' });
    await store.close();
  });

  it("put's answer is the written version, whatever is written later, and a copy once read", async () => {
    const store = new MemorySecretStore();
    const bytes = (s: string) => new TextEncoder().encode(s);
    const first = await store.put('s', { data: { k: bytes('one') } });
    await store.put('s', { data: { k: bytes('two') } });
    expect(new TextDecoder().decode(first.data.k)).toBe('one');
    first.data.k![0] = 0x58;
    expect(new TextDecoder().decode(first.data.k)).toBe('Xne');
    const again = await store.put('s', { data: { k: bytes('three') } });
    again.data.k![0] = 0x58;
    expect(new TextDecoder().decode((await store.get('s'))!.data.k)).toBe('three');
  });

  it('ending one of several watches of a name leaves the others delivering', async () => {
    const store = new MemorySecretStore();
    const controller = new AbortController();
    const [kept, returned, aborted] = [
      store.watch('n'),
      store.watch('n'),
      store.watch('n', { signal: controller.signal }),
    ];
    for (const events of [kept, returned, aborted]) await events.next();
    await returned.return?.();
    controller.abort();
    const put = await store.put('n', { data: {} });
    expect(await kept.next()).toMatchObject({ value: { type: 'updated', secret: { version: put.version } } });
    expect(await returned.next()).toMatchObject({ done: true });
    expect(await aborted.next()).toMatchObject({ done: true });
    // the last watch of a name ends too, and a new one starts afresh
    await kept.return?.();
    const again = store.watch('n');
    expect(await again.next()).toMatchObject({ value: { type: 'initial', secret: { version: put.version } } });
    await store.close();
    expect(await again.next()).toMatchObject({ done: true });
  });

  it('serves next() calls made before earlier ones settle in order, and ends them all on return()', async () => {
    const store = new MemorySecretStore();
    const events = store.watch('queued');
    await events.next();
    const first = events.next();
    const second = events.next();
    const third = events.next();
    const one = await store.put('queued', { data: {} });
    const two = await store.put('queued', { data: {} });
    expect(await first).toMatchObject({ value: { type: 'updated', secret: { version: one.version } } });
    expect(await second).toMatchObject({ value: { type: 'updated', secret: { version: two.version } } });
    await events.return?.();
    expect(await third).toMatchObject({ done: true });
  });

  it('an initial state not yet consumed becomes the latest state, still as initial', async () => {
    const store = new MemorySecretStore();
    const events = store.watch('late');
    const put = await store.put('late', { data: {} });
    expect(await events.next()).toMatchObject({ value: { type: 'initial', secret: { version: put.version } } });
    await store.close();
  });
});
