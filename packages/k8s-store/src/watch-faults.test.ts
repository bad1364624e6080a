/**
 * The informer under faults: dropped streams, 410 Expired during a rotation (as an event, as HTTP 410, after
 * compaction), a silent stream, 500s and 429s. Every change is delivered in order, at most once per
 * resourceVersion, to every watch(name); after a re-list only real differences. The watching store runs on a
 * ManualClock (backoff, silence bound); the writes are real HTTP calls to the emulator.
 */
import { ManualClock, type WatchEvent } from '@certloop/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

let emulator: KubernetesApiEmulator;
let clock: ManualClock;
let watching: KubernetesSecretStore;
let writer: KubernetesSecretStore;

beforeEach(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh', bookmarkIntervalMs: 60_000 });
  clock = new ManualClock('2026-05-01T12:00:00Z');
  watching = new KubernetesSecretStore({
    kubeConfig: emulator.kubeConfig,
    namespace: 'gloo-mesh',
    clock,
    watch: { silenceTimeoutMs: 30_000, initialBackoffMs: 1_000, maxBackoffMs: 8_000, resyncPeriodMs: 0 },
  });
  writer = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
});

afterEach(async () => {
  await watching.close();
  await writer.close();
  await emulator.close();
});

interface Collected {
  readonly name: string;
  readonly events: WatchEvent[];
  /** Manual-clock time at which each event arrived. */
  readonly at: number[];
}

function collect(name: string): Collected {
  const out: Collected = { name, events: [], at: [] };
  void (async () => {
    for await (const event of watching.watch(name)) {
      out.events.push(event);
      out.at.push(clock.now().getTime());
    }
  })();
  return out;
}

/** Advances the manual clock in small steps, letting real I/O settle, until `done()` (bounded). */
async function until(done: () => boolean, stepMs = 250, maxSteps = 400): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (done()) return;
    await clock.advance(stepMs);
    await settle();
  }
  throw new Error('condition not reached');
}

const states = (c: Collected) =>
  c.events
    .filter((e) => e.type !== 'error')
    .map((e) => (e.type === 'updated' ? e.secret.version : e.type === 'deleted' ? 'deleted' : 'initial'));
const errors = (c: Collected) => c.events.flatMap((e) => (e.type === 'error' ? [e.error.code] : []));
const last = (c: Collected) => states(c).at(-1);

async function watchAll(names: string[]): Promise<Collected[]> {
  const all = names.flatMap((name) => [collect(name), collect(name)]);
  await until(() => all.every((c) => states(c)[0] === 'initial'));
  return all;
}

describe('informer: one list-watch for every watch(name) of a store', () => {
  it('shares one connection among many watches', async () => {
    const all = await watchAll(['a', 'b', 'c', 'd']);
    expect(all).toHaveLength(8);
    expect(emulator.openWatches()).toBe(1);
    expect(watching.informer.reflector.stats).toMatchObject({ lists: 1, watches: 1 });
  });
});

describe('informer under faults', () => {
  it('dropped streams: resumes from the last resourceVersion, every change delivered in order exactly once', async () => {
    await writer.put('n1', { data: { v: bytes('0') } });
    await writer.put('n2', { data: { v: bytes('0') } });
    const all = await watchAll(['n1', 'n2', 'n3']);
    const written: Record<string, string[]> = { n1: [], n2: [], n3: [] };
    written.n1!.push((await writer.put('n1', { data: { v: bytes('1') } })).version);
    await until(() => all.filter((c) => c.name === 'n1').every((c) => last(c) === written.n1!.at(-1)));
    expect(emulator.faults.dropWatches()).toBe(1);
    for (let i = 2; i <= 4; i++) written.n1!.push((await writer.put('n1', { data: { v: bytes(String(i)) } })).version);
    written.n3!.push((await writer.put('n3', { data: { v: bytes('x') } })).version);
    await writer.delete('n2');
    written.n2!.push('deleted');
    await until(() => all.every((c) => last(c) === written[c.name]!.at(-1)));
    for (const c of all) {
      expect(states(c)).toEqual(['initial', ...written[c.name]!]);
      expect(errors(c)).toContain('CERTLOOP_UNAVAILABLE');
    }
    expect(watching.informer.reflector.stats.lists).toBe(1); // resumed, no re-list needed
  });

  for (const variant of ['ERROR event', 'HTTP 410', 'compacted history'] as const) {
    it(`410 Expired (${variant}) during a rotation: re-lists and emits only real differences`, async () => {
      await writer.put('rotating', { data: { v: bytes('0') } });
      await writer.put('vanishing', { data: { v: bytes('0') } });
      await writer.put('steady', { data: { v: bytes('0') } });
      const all = await watchAll(['rotating', 'vanishing', 'steady']);
      emulator.faults.dropWatches();
      if (variant === 'ERROR event') emulator.faults.expireNextWatch();
      if (variant === 'HTTP 410') emulator.faults.expireNextWatch({ http: true });
      const versions: string[] = [];
      for (let i = 1; i <= 3; i++)
        versions.push((await writer.put('rotating', { data: { v: bytes(String(i)) } })).version);
      await writer.delete('vanishing');
      if (variant === 'compacted history') emulator.faults.compact();
      await until(() =>
        all.every((c) =>
          c.name === 'steady' ? true : last(c) === (c.name === 'rotating' ? versions.at(-1) : 'deleted'),
        ),
      );
      await clock.advance(2_000);
      await settle();
      for (const c of all) {
        const seen = states(c);
        expect(new Set(seen).size).toBe(seen.length); // no state twice
        if (c.name === 'rotating') {
          expect(seen[0]).toBe('initial');
          expect(seen.slice(1).every((v) => versions.includes(v))).toBe(true);
          expect(seen.at(-1)).toBe(versions.at(-1));
        }
        if (c.name === 'vanishing') expect(seen).toEqual(['initial', 'deleted']);
        if (c.name === 'steady') expect(seen).toEqual(['initial']); // unchanged resourceVersion: nothing emitted
        expect(errors(c)).toContain('CERTLOOP_K8S_EXPIRED');
      }
      expect(watching.informer.reflector.stats.lists).toBe(2);
    });
  }

  it('a re-LIST that fails on its second page applies nothing of the first; the next one emits each change once', async () => {
    await watching.close();
    watching = new KubernetesSecretStore({
      kubeConfig: emulator.kubeConfig,
      namespace: 'gloo-mesh',
      clock,
      watch: { silenceTimeoutMs: 300_000, initialBackoffMs: 1_000, resyncPeriodMs: 0, listPageSize: 2 },
    });
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const name of names) await writer.put(name, { data: { v: bytes('0') } });
    const all = await watchAll(names);
    expect(watching.informer.reflector.stats.lists).toBe(1);
    // the watch comes back Expired, so the informer re-lists: its second page (of three) answers 500
    let listPages = 0;
    const secondPage = (req: { method: string; path: string; watch: boolean }) =>
      req.method === 'GET' && !req.watch && req.path.endsWith('/secrets') && ++listPages === 2;
    emulator.faults.failNext({ status: 500, filter: secondPage });
    emulator.faults.dropWatches();
    emulator.faults.expireNextWatch({ http: true });
    const p1 = await writer.put('p1', { data: { v: bytes('1') } }); // on the first page
    const p4 = await writer.put('p4', { data: { v: bytes('1') } }); // on the second, which fails
    await writer.delete('p5');
    const expected: Record<string, string[]> = {
      p1: ['initial', p1.version],
      p4: ['initial', p4.version],
      p5: ['initial', 'deleted'],
    };
    await until(() => all.every((c) => (expected[c.name] ? last(c) === expected[c.name]!.at(-1) : true)));
    await clock.advance(2_000);
    await settle();
    expect(listPages).toBeGreaterThanOrEqual(2);
    expect(watching.informer.reflector.stats.lists).toBe(2); // the failed LIST is not counted: only the whole one
    for (const c of all) {
      expect(states(c)).toEqual(expected[c.name] ?? ['initial']); // nothing twice, nothing from the half LIST
      expect(errors(c)).toContain('CERTLOOP_UNAVAILABLE');
    }
  });

  it('refuses a LIST page size that is not a whole number of at least 1', () => {
    for (const listPageSize of [0, -1, 1.5, Number.NaN]) {
      expect(
        () =>
          new KubernetesSecretStore({
            kubeConfig: emulator.kubeConfig,
            namespace: 'gloo-mesh',
            watch: { listPageSize },
          }),
      ).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
    }
  });

  it('a silent stream (no event, no bookmark) is detected within the bound and replaced', async () => {
    const all = await watchAll(['quiet']);
    expect(emulator.faults.stallWatches()).toBe(1);
    const put = await writer.put('quiet', { data: { v: bytes('1') } });
    await clock.advance(20_000);
    await settle();
    expect(all.every((c) => last(c) === 'initial')).toBe(true); // the stream is stalled: nothing yet
    await until(() => all.every((c) => last(c) === put.version));
    for (const c of all) {
      expect(errors(c)).toContain('CERTLOOP_WATCH_FAILED');
      expect(c.at.at(-1)! - c.at[0]!).toBeLessThanOrEqual(30_000 + 8_000 + 1_000);
    }
    expect(watching.informer.reflector.stats.watches).toBe(2);
  });

  it('500s and a 429 with Retry-After: backs off, honours Retry-After, then delivers', async () => {
    const all = await watchAll(['busy']);
    // the informer's LIST and WATCH only (collection reads), not the writer's reads
    const onlyReads = (req: { method: string; path: string }) => req.method === 'GET' && req.path.endsWith('/secrets');
    emulator.faults.failNext({ status: 500, count: 2, filter: onlyReads });
    emulator.faults.failNext({ status: 429, retryAfterSeconds: 20, filter: onlyReads });
    emulator.faults.dropWatches();
    const put = await writer.put('busy', { data: { v: bytes('1') } });
    await until(() => all.every((c) => last(c) === put.version));
    for (const c of all) {
      const codes = errors(c);
      expect(codes.filter((code) => code === 'CERTLOOP_UNAVAILABLE').length).toBeGreaterThanOrEqual(3); // drop + two 500s
      expect(codes).toContain('CERTLOOP_RATE_LIMITED');
      const limitedAt =
        c.at[c.events.findIndex((e) => e.type === 'error' && e.error.code === 'CERTLOOP_RATE_LIMITED')]!;
      expect(c.at.at(-1)! - limitedAt).toBeGreaterThanOrEqual(20_000);
      expect(states(c)).toEqual(['initial', put.version]);
    }
  });

  it('a periodic resync re-lists and emits nothing for what did not change', async () => {
    await watching.close();
    watching = new KubernetesSecretStore({
      kubeConfig: emulator.kubeConfig,
      namespace: 'gloo-mesh',
      clock,
      watch: { silenceTimeoutMs: 300_000, resyncPeriodMs: 60_000 },
    });
    await writer.put('kept', { data: { v: bytes('0') } });
    const all = await watchAll(['kept']);
    await until(() => watching.informer.reflector.stats.lists >= 3, 5_000);
    for (const c of all) expect(states(c)).toEqual(['initial']);
    const put = await writer.put('kept', { data: { v: bytes('1') } });
    await until(() => all.every((c) => last(c) === put.version));
    for (const c of all) expect(states(c)).toEqual(['initial', put.version]);
  });

  it('latency on every answer slows delivery but loses nothing', async () => {
    const all = await watchAll(['slow']);
    emulator.faults.setLatency(50);
    const put = await writer.put('slow', { data: { v: bytes('1') } });
    emulator.faults.setLatency(0);
    await until(() => all.every((c) => last(c) === put.version));
    for (const c of all) expect(states(c)).toEqual(['initial', put.version]);
  });
});
