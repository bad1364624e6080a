/**
 * The informer's reconnects under repeated drops, as client-go does them: a stream that delivered events (or
 * lasted a second) is re-watched at once, with no backoff, however often it is cut; only failures to connect and
 * streams that ended at once with nothing back off, doubling; a healthy stream resets the backoff. Connections are
 * cut by a real HTTP proxy in front of the emulator; the watching store runs on a ManualClock that the drop tests
 * never advance, so a backoff would stall them (and `stats.backoffs` counts every delay taken). The watch delay
 * this gives under a proxy cutting every few hundred ms is measured in bench/k8s-watch-chaos.ts.
 */
import { ManualClock } from '@certloop/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ProxiedStores, startProxiedStores } from './proxied-stores.test-support.js';
import type { KubernetesSecretStore } from './secret-store.js';
import type { CuttingProxy, KubernetesApiEmulator } from './testing/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);

let stores: ProxiedStores;
let emulator: KubernetesApiEmulator;
let proxy: CuttingProxy;
let clock: ManualClock;
let watching: KubernetesSecretStore;
let writer: KubernetesSecretStore;

beforeEach(async () => {
  clock = new ManualClock('2026-05-01T12:00:00Z');
  stores = await startProxiedStores(
    { bookmarkIntervalMs: 600_000 },
    {
      clock,
      watch: { silenceTimeoutMs: 600_000, initialBackoffMs: 1_000, maxBackoffMs: 30_000, resyncPeriodMs: 0 },
    },
  );
  ({ emulator, proxy, proxied: watching, direct: writer } = stores);
});

afterEach(() => stores.close());

const stats = () => watching.informer.reflector.stats;

/**
 * Waits in real time, with the manual clock standing still, until `done()` (bounded by 15 s of real time: on an idle
 * machine each wait takes milliseconds; the bound only has to outlast a loaded one's connection set-up).
 */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`not reached with the clock standing still: ${what}`);
}

/** The versions one watch of `name` has seen (`initial` first). */
function collect(name: string): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const event of watching.watch(name)) {
      if (event.type === 'initial') seen.push('initial');
      if (event.type === 'updated') seen.push(event.secret.version);
    }
  })();
  return seen;
}

// Real sockets through a real proxy race the manual clock on a loaded machine (a cut can land while the next watch is
// still connecting, which is then a failure to connect): a case that lost such a race runs again, up to twice. The
// assertions are the same every time.
describe('informer reconnects as client-go does', { retry: 2 }, () => {
  it('a stream that delivered events is re-watched at once after each of 20 cuts: no backoff, no time passing', async () => {
    await writer.put('x', { data: { v: bytes('0') } });
    const seen = collect('x');
    await waitFor(() => seen[0] === 'initial', 'initial state');
    const start = clock.monotonicNow();
    for (let round = 1; round <= 20; round++) {
      const put = await writer.put('x', { data: { v: bytes(String(round)) } });
      await waitFor(() => seen.at(-1) === put.version, `round ${round} delivered`);
      await waitFor(() => proxy.cutAll() > 0, 'a connection to cut');
    }
    const last = await writer.put('x', { data: { v: bytes('last') } });
    await waitFor(() => seen.at(-1) === last.version, 'delivered after the last cut');
    expect(stats().backoffs).toBe(0);
    expect(stats().watches).toBeGreaterThanOrEqual(21);
    expect(stats().lists).toBe(1);
    expect(clock.monotonicNow()).toBe(start);
  });

  it('a stream that lasted a second without events is re-watched at once after a cut', async () => {
    const seen = collect('quiet');
    await waitFor(() => seen[0] === 'initial', 'initial state');
    for (let round = 1; round <= 5; round++) {
      const watches = stats().watches;
      await clock.advance(1_000);
      await waitFor(() => proxy.cutAll() > 0, 'a connection to cut');
      await waitFor(() => stats().watches > watches, `round ${round} re-watched`);
    }
    expect(stats().backoffs).toBe(0);
  });

  it('streams ended at once with nothing back off, doubling; a healthy stream resets the backoff', async () => {
    const seen = collect('y');
    await waitFor(() => seen[0] === 'initial' && stats().watches === 1, 'initial state');
    const delays: number[] = [];
    /** Cuts the stream just opened, waits for the backoff it causes, and lets the clock run through it. */
    const cutShortStream = async () => {
      const { backoffs, backoffMs, watches } = stats();
      await waitFor(() => proxy.cutAll() > 0, 'a connection to cut');
      await waitFor(() => stats().backoffs === backoffs + 1, 'a backoff');
      delays.push(stats().backoffMs - backoffMs);
      await clock.advance(delays.at(-1)!);
      await waitFor(() => stats().watches === watches + 1, 're-watched after the backoff');
    };
    await cutShortStream();
    await cutShortStream();
    await cutShortStream();
    // jittered into [base/2, base]: 1 s, 2 s, 4 s
    expect(delays[0]).toBeGreaterThanOrEqual(500);
    expect(delays[0]).toBeLessThanOrEqual(1_000);
    expect(delays[1]).toBeGreaterThanOrEqual(1_000);
    expect(delays[1]).toBeLessThanOrEqual(2_000);
    expect(delays[2]).toBeGreaterThanOrEqual(2_000);
    expect(delays[2]).toBeLessThanOrEqual(4_000);
    // a healthy stream (it delivers an event), then cut: re-watched at once, and the failures are forgotten
    const put = await writer.put('y', { data: { v: bytes('1') } });
    await waitFor(() => seen.at(-1) === put.version, 'delivered');
    const backoffs = stats().backoffs;
    const watches = stats().watches;
    await waitFor(() => proxy.cutAll() > 0, 'a connection to cut');
    await waitFor(() => stats().watches === watches + 1, 're-watched at once');
    expect(stats().backoffs).toBe(backoffs);
    await cutShortStream();
    expect(delays[3]).toBeLessThanOrEqual(1_000);
  });

  it('failures to connect back off, doubling, and the first healthy stream resets it', async () => {
    const seen = collect('z');
    await waitFor(() => seen[0] === 'initial', 'initial state');
    const onlyWatches = (req: { watch: boolean }) => req.watch;
    emulator.faults.failNext({ status: 503, count: 2, filter: onlyWatches });
    const before = stats().backoffs;
    await waitFor(() => proxy.cutAll() > 0, 'a connection to cut');
    // the cut stream was short and empty: one backoff; then two refused connections: two more
    for (let i = 1; i <= 3; i++) {
      await waitFor(() => stats().backoffs === before + i, `backoff ${i}`);
      await clock.advance(10_000);
    }
    const put = await writer.put('z', { data: { v: bytes('1') } });
    await waitFor(() => seen.at(-1) === put.version, 'delivered after the outage');
    expect(stats().backoffs).toBe(before + 3);
  });
});
