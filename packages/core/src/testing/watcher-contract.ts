/**
 * `@certloop/core/testing` Watcher contract suite: the behaviour every Watcher adapter must share, as vitest
 * tests. Changes are made through a SecretStore over the same backend; events are awaited in real time with a
 * bound, since watchers react to their backend (fs events, a watch stream), not to a clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretStore } from '../store/types.js';
import type { WatchEvent, Watcher } from '../watch/types.js';

export interface WatcherContractSubject {
  /** A fresh watcher over an empty backend. */
  readonly watcher: Watcher;
  /** A store writing to the backend the watcher observes. */
  readonly store: SecretStore;
  readonly cleanup?: () => Promise<void>;
}

export interface WatcherContractOptions {
  /** How long to wait for an expected event (default 5000 ms). */
  readonly eventTimeoutMs?: number;
}

const NO_EVENT = Symbol('no event');

/**
 * Reads `iterator` with a bound in real time: resolves the next event, `'done'` when it ended, or `NO_EVENT`
 * after `timeoutMs`. A read that timed out keeps its pending `next()` for the following read, so no event is
 * lost to an abandoned call.
 */
function boundedReader(iterator: AsyncIterator<WatchEvent>) {
  let pending: Promise<IteratorResult<WatchEvent>> | undefined;
  return async (timeoutMs: number): Promise<WatchEvent | 'done' | typeof NO_EVENT> => {
    pending ??= iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof NO_EVENT>((resolve) => {
      timer = setTimeout(() => resolve(NO_EVENT), timeoutMs);
    });
    try {
      const result = await Promise.race([pending, timeout]);
      if (result === NO_EVENT) return NO_EVENT;
      pending = undefined;
      return result.done ? 'done' : result.value;
    } finally {
      clearTimeout(timer);
    }
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

/** Registers the Watcher contract tests under `describe('Watcher contract: <name>')`. */
export function describeWatcherContract(
  name: string,
  factory: () => Promise<WatcherContractSubject>,
  options: WatcherContractOptions = {},
): void {
  const timeoutMs = options.eventTimeoutMs ?? 5_000;
  describe(`Watcher contract: ${name}`, () => {
    let subject: WatcherContractSubject | undefined;
    let watcher: Watcher;
    let store: SecretStore;
    const iterators: AsyncIterator<WatchEvent>[] = [];
    const readers = new Map<AsyncIterator<WatchEvent>, ReturnType<typeof boundedReader>>();
    const open = (secret: string, signal?: AbortSignal) => {
      const iterator = watcher.watch(secret, { signal });
      iterators.push(iterator);
      return iterator;
    };
    const nextWithin = (iterator: AsyncIterator<WatchEvent>, ms: number) => {
      let reader = readers.get(iterator);
      if (!reader) {
        reader = boundedReader(iterator);
        readers.set(iterator, reader);
      }
      return reader(ms);
    };
    /** The next event that is not an informational `error`. */
    const next = async (iterator: AsyncIterator<WatchEvent>): Promise<WatchEvent | 'done'> => {
      for (;;) {
        const event = await nextWithin(iterator, timeoutMs);
        if (event === NO_EVENT) throw new Error(`no watch event within ${timeoutMs} ms`);
        if (event === 'done' || event.type !== 'error') return event;
      }
    };
    beforeEach(async () => {
      subject = await factory();
      watcher = subject.watcher;
      store = subject.store;
    });
    afterEach(async () => {
      for (const iterator of iterators.splice(0)) await iterator.return?.();
      readers.clear();
      await watcher.close();
      await subject?.cleanup?.();
      subject = undefined;
    });

    it('yields initial with undefined for a missing secret', async () => {
      expect(await next(open('missing'))).toEqual({ type: 'initial', name: 'missing', secret: undefined });
    });

    it('yields initial with the current state of an existing secret', async () => {
      const put = await store.put('present', { data: { k: bytes('v') }, labels: { a: 'b' } });
      const event = await next(open('present'));
      expect(event).toMatchObject({ type: 'initial', name: 'present', secret: { version: put.version } });
      expect(event !== 'done' && event.type === 'initial' && text(event.secret?.data.k)).toBe('v');
    });

    it('yields updated on every write and deleted on delete, then updated when re-created', async () => {
      const iterator = open('s');
      expect((await next(iterator)) as WatchEvent).toMatchObject({ type: 'initial', secret: undefined });
      const first = await store.put('s', { data: { k: bytes('1') } });
      expect(await next(iterator)).toMatchObject({ type: 'updated', name: 's', secret: { version: first.version } });
      const second = await store.put('s', { data: { k: bytes('2') } });
      const updated = await next(iterator);
      expect(updated).toMatchObject({ type: 'updated', secret: { version: second.version } });
      expect(updated !== 'done' && updated.type === 'updated' && text(updated.secret.data.k)).toBe('2');
      await store.delete('s');
      expect(await next(iterator)).toEqual({ type: 'deleted', name: 's' });
      const again = await store.put('s', { data: { k: bytes('3') } });
      expect(await next(iterator)).toMatchObject({ type: 'updated', secret: { version: again.version } });
    });

    it('a burst of writes ends on the latest state, in order, with no duplicates', async () => {
      await store.put('burst', { data: { n: bytes('0') } });
      const iterator = open('burst');
      expect(await next(iterator)).toMatchObject({ type: 'initial' });
      const versions: string[] = [];
      for (let i = 1; i <= 10; i++)
        versions.push((await store.put('burst', { data: { n: bytes(String(i)) } })).version);
      const seen: number[] = [];
      for (;;) {
        const event = await next(iterator);
        if (event === 'done' || event.type !== 'updated') throw new Error(`unexpected ${JSON.stringify(event)}`);
        seen.push(versions.indexOf(event.secret.version));
        if (event.secret.version === versions.at(-1)) break;
      }
      // coalesced or not, the states seen are distinct writes, in write order
      expect(seen.every((index, i) => index >= 0 && (i === 0 || index > seen[i - 1]!))).toBe(true);
      expect(await nextWithin(iterator, 300)).toBe(NO_EVENT);
    });

    it('several watches of the same name each see every change; other names do not leak in', async () => {
      const a = open('shared');
      const b = open('shared');
      expect(await next(a)).toMatchObject({ type: 'initial' });
      expect(await next(b)).toMatchObject({ type: 'initial' });
      await store.put('other', { data: {} });
      const put = await store.put('shared', { data: {} });
      expect(await next(a)).toMatchObject({ type: 'updated', name: 'shared', secret: { version: put.version } });
      expect(await next(b)).toMatchObject({ type: 'updated', name: 'shared', secret: { version: put.version } });
    });

    it('event secrets carry the stored state, which a mutated get or put result never changes', async () => {
      const put = await store.put('copy', { data: { k: bytes('abc') }, labels: { a: '1' } });
      (put.data.k as Uint8Array)[0] = 0x7a;
      const got = (await store.get('copy'))!;
      (got.data.k as Uint8Array)[1] = 0x7a;
      (got.labels as Record<string, string>).a = 'changed';
      const event = await next(open('copy'));
      if (event === 'done' || event.type !== 'initial' || !event.secret) throw new Error('expected initial state');
      expect(text(event.secret.data.k)).toBe('abc');
      expect(event.secret.labels).toEqual({ a: '1' });
      expect(text((await store.get('copy'))?.data.k)).toBe('abc');
    });

    it('return() ends the iteration, also for a next() already waiting', async () => {
      const iterator = open('r');
      await next(iterator);
      const pending = iterator.next();
      await iterator.return?.();
      expect(await pending).toMatchObject({ done: true });
      expect(await iterator.next()).toMatchObject({ done: true });
    });

    it('an aborted signal ends the iteration', async () => {
      const controller = new AbortController();
      const iterator = open('sig', controller.signal);
      await next(iterator);
      const pending = iterator.next();
      controller.abort();
      expect(await pending).toMatchObject({ done: true });
      expect(await open('sig', AbortSignal.abort()).next()).toMatchObject({ done: true });
    });

    it('close() ends every watch and is idempotent', async () => {
      const a = open('a');
      const b = open('b');
      await next(a);
      await next(b);
      await watcher.close();
      await watcher.close();
      expect(await next(a)).toBe('done');
      expect(await next(b)).toBe('done');
    });
  });
}
