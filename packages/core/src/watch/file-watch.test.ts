import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { isCertloopError } from '../errors.js';
import { FileSecretStore, type FileSecretStoreOptions } from '../store/file-store.js';
import { kubeletWrite } from '../store/fixtures/kubelet-write.js';
import { childOutput, exited, startChild, waitForOutput } from '../store/fixtures/run-child.js';
import type { WatchEvent } from './types.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

/**
 * Reads events with a bound in real time (fs events come from the kernel, not a clock). A read that timed out
 * keeps its pending `next()` for the following read, so no event is lost to an abandoned call.
 */
function eventReader(iterator: AsyncIterator<WatchEvent>) {
  let pending: Promise<IteratorResult<WatchEvent>> | undefined;
  return async (ms = 5_000): Promise<WatchEvent | 'none' | 'done'> => {
    pending ??= iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const none = new Promise<'none'>((resolve) => {
      timer = setTimeout(() => resolve('none'), ms);
    });
    const result = await Promise.race([pending, none]).finally(() => clearTimeout(timer));
    if (result === 'none') return 'none';
    pending = undefined;
    return result.done ? 'done' : result.value;
  };
}

describe('FileSecretStore watch', () => {
  let root: string;
  let directory: string;
  const stores: FileSecretStore[] = [];
  const children: ChildProcess[] = [];
  const open = (options: Partial<FileSecretStoreOptions> = {}) => {
    const store = new FileSecretStore({ directory, ...options });
    stores.push(store);
    return store;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'certloop-file-watch-'));
    directory = join(root, 'secrets');
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await rm(root, { recursive: true, force: true });
  });

  // The clock never moves in these two: events must come through fs.watch alone, promptly.
  it('reports a change made by another process', async () => {
    const store = open({ clock: new ManualClock() });
    const next = eventReader(store.watch('counter'));
    expect(await next()).toMatchObject({ type: 'initial', secret: undefined });
    const child = startChild('cas-incrementer.ts', [directory, 'counter', '1']);
    children.push(child);
    const output = childOutput(child);
    await waitForOutput(child, 'ready');
    child.stdin?.end('go\n');
    await output;
    const event = await next();
    expect(event).toMatchObject({ type: 'updated', name: 'counter' });
    expect(text((event as Extract<WatchEvent, { type: 'updated' }>).secret.data.n)).toBe('1');
  });

  it('reports a kubelet-style ..data swap made by hand, and the directory deleted and re-created', async () => {
    const store = open({ clock: new ManualClock() });
    const secretDir = join(directory, 'mounted');
    const first = await kubeletWrite(secretDir, '2026_01_01_00_00_00', { 'tls.crt': 'one' });
    const next = eventReader(store.watch('mounted'));
    expect(await next()).toMatchObject({ type: 'initial', secret: { version: first } });
    const second = await kubeletWrite(secretDir, '2026_01_01_00_01_00', { 'tls.crt': 'two' });
    expect(await next()).toMatchObject({ type: 'updated', secret: { version: second } });
    await rm(secretDir, { recursive: true });
    expect(await next()).toEqual({ type: 'deleted', name: 'mounted' });
    const third = await kubeletWrite(secretDir, '2026_01_01_00_02_00', { 'tls.crt': 'three' });
    expect(await next()).toMatchObject({ type: 'updated', secret: { version: third } });
    // the whole store directory too
    await rm(directory, { recursive: true });
    expect(await next()).toEqual({ type: 'deleted', name: 'mounted' });
    const fourth = await store.put('mounted', { data: { 'tls.crt': bytes('four') } });
    expect(await next()).toMatchObject({ type: 'updated', secret: { version: fourth.version } });
  });

  it('falls back to polling on the clock: with fs.watch off, a change shows at the next poll', async () => {
    const clock = new ManualClock();
    const store = open({ clock, fsWatch: false, pollIntervalMs: 2_000 });
    const next = eventReader(store.watch('polled'));
    expect(await next()).toMatchObject({ type: 'initial', secret: undefined });
    const put = await store.put('polled', { data: { k: bytes('v') } });
    expect(await next(200)).toBe('none');
    await clock.advance(1_999);
    expect(await next(100)).toBe('none');
    await clock.advance(1);
    expect(await next()).toMatchObject({
      type: 'updated',
      secret: { version: put.version },
    });
  });

  it('coalesces a burst between polls to the latest state', async () => {
    const clock = new ManualClock();
    const store = open({ clock, fsWatch: false });
    const next = eventReader(store.watch('burst'));
    await next();
    let last = '';
    for (let i = 0; i < 5; i++) last = (await store.put('burst', { data: { n: bytes(String(i)) } })).version;
    await clock.advance(2_000);
    expect(await next()).toMatchObject({ type: 'updated', secret: { version: last } });
    await clock.advance(2_000);
    expect(await next(200)).toBe('none');
  });

  it('reports a corrupt secret once as an error event and keeps going', async () => {
    const clock = new ManualClock();
    const store = open({ clock, fsWatch: false });
    await store.put('fragile', { data: { k: bytes('1') } });
    const next = eventReader(store.watch('fragile'));
    await next();
    await unlink(join(directory, 'fragile', '..data'));
    await symlink('..2026_01_01_00_00_00.gone', join(directory, 'fragile', '..data'));
    await clock.advance(2_000);
    const event = await next();
    expect(event).toMatchObject({ type: 'error', name: 'fragile' });
    expect(isCertloopError((event as Extract<WatchEvent, { type: 'error' }>).error, 'CERTLOOP_STORE_CORRUPT')).toBe(
      true,
    );
    await clock.advance(2_000);
    expect(await next(200)).toBe('none');
    const repaired = await store.put('fragile', { data: { k: bytes('2') } });
    await clock.advance(2_000);
    expect(await next()).toMatchObject({ type: 'updated', secret: { version: repaired.version } });
  });

  it('close() ends the watches and stops their timers; watch() after close throws CERTLOOP_CLOSED', async () => {
    const clock = new ManualClock();
    const store = open({ clock });
    const next = eventReader(store.watch('x'));
    await next();
    expect(clock.pendingTimers).toBe(1);
    await store.close();
    expect(await next()).toBe('done');
    expect(clock.pendingTimers).toBe(0);
    expect(() => store.watch('x')).toThrow(expect.objectContaining({ code: 'CERTLOOP_CLOSED' }));
    expect(await store.put('x', { data: {} })).toMatchObject({ name: 'x' });
  });

  it('all watches of a store share one poll timer and one read per change; a late watch still gets initial', async () => {
    const clock = new ManualClock();
    const store = open({ clock });
    const readers = Array.from({ length: 40 }, (_, i) => eventReader(store.watch(`s-${i}`)));
    for (const next of readers) expect(await next()).toMatchObject({ type: 'initial', secret: undefined });
    const same = [1, 2, 3].map(() => eventReader(store.watch('s-0')));
    for (const next of same) expect(await next()).toMatchObject({ type: 'initial', secret: undefined });
    // one timer for 40 secrets and 43 watches: the safety-net poll of the whole store
    expect(clock.pendingTimers).toBe(1);
    const put = await store.put('s-0', { data: { k: bytes('v') } });
    const events = await Promise.all([readers[0]!, ...same].map((next) => next()));
    for (const event of events) expect(event).toMatchObject({ type: 'updated', secret: { version: put.version } });
    // one read served every watch of the secret: they share the snapshot
    const secrets = events.map((event) => (event as Extract<WatchEvent, { type: 'updated' }>).secret);
    expect(new Set(secrets).size).toBe(1);
    const late = eventReader(store.watch('s-0'));
    expect(await late()).toMatchObject({ type: 'initial', secret: { version: put.version } });
    // the others do not see the newcomer's read as a change
    expect(await readers[0]!(200)).toBe('none');
  });

  it('polls at pollIntervalMs as the only layer, and as a safety net at a longer interval while fs events work', async () => {
    const polled = new ManualClock();
    open({ clock: polled, fsWatch: false, pollIntervalMs: 2_000 }).watch('a');
    expect(polled.nextTimerAt()!.getTime() - polled.now().getTime()).toBe(2_000);
    const watched = new ManualClock();
    const store = open({ clock: watched, pollIntervalMs: 2_000 });
    const next = eventReader(store.watch('a'));
    await next();
    expect(watched.nextTimerAt()!.getTime() - watched.now().getTime()).toBeGreaterThanOrEqual(10_000);
  });
});
