/**
 * ListScanner: a LIST answer split at every byte gives the same items and metadata as `JSON.parse` of the whole;
 * strings holding brackets, quotes, escapes and multi-byte characters do not confuse it; what is not a list is
 * refused with `CERTLOOP_WATCH_FAILED`. And the reflector reads more than one page (`continue`) through it.
 */
import { isCertloopError, ManualClock } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { ListScanner } from './list-scanner.js';
import { KubernetesSecretStore } from './secret-store.js';
import { startKubernetesApiEmulator } from './testing/index.js';

const LIST = {
  kind: 'SecretList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '42', continue: 'tok"en]' },
  items: [
    { metadata: { name: 'a', annotations: { tricky: '}]{["\\\\\\"', unicode: 'é 🔐 \u2028' } }, data: { k: 'AQID' } },
    { metadata: { name: 'b', labels: { items: '[]' } }, data: {}, nested: [[{}], { x: [1, '}'] }] },
    { metadata: { name: 'c' } },
  ],
};

function scan(text: string, split: (bytes: Buffer) => Buffer[]) {
  const items: unknown[] = [];
  const scanner = new ListScanner((json) => items.push(JSON.parse(json)));
  for (const chunk of split(Buffer.from(text))) scanner.push(chunk);
  return { items, rest: scanner.end<typeof LIST>() };
}

function refusal(text: string): string | undefined {
  try {
    const scanner = new ListScanner(() => {});
    scanner.push(Buffer.from(text));
    scanner.end();
  } catch (err) {
    return isCertloopError(err) ? err.code : 'untyped';
  }
  return undefined;
}

describe('ListScanner', () => {
  it('split at every byte, it gives the items and the metadata JSON.parse gives', () => {
    const text = JSON.stringify(LIST, null, 1);
    for (let at = 0; at <= Buffer.byteLength(text); at++) {
      const { items, rest } = scan(text, (bytes) => [bytes.subarray(0, at), bytes.subarray(at)]);
      expect(items).toEqual(LIST.items);
      expect(rest).toEqual({ ...LIST, items: [] });
    }
  });

  it('one byte at a time, and compact', () => {
    const { items, rest } = scan(JSON.stringify(LIST), (bytes) => [...bytes].map((b) => Buffer.from([b])));
    expect(items).toEqual(LIST.items);
    expect(rest.metadata).toEqual(LIST.metadata);
  });

  it('an empty list', () => {
    const { items, rest } = scan('{"kind":"SecretList","metadata":{"resourceVersion":"7"},"items":[]}', (b) => [b]);
    expect(items).toEqual([]);
    expect(rest.metadata.resourceVersion).toBe('7');
  });

  it.each([
    ['not an object', '[1,2]'],
    ['no items', '{"metadata":{}}'],
    ['an item that is not an object', '{"items":[1]}'],
    ['cut short', '{"metadata":{},"items":[{"a":1}'],
    ['an unterminated string', '{"items":[],"x":"abc'],
    ['unbalanced', '{"items":[]}}'],
    ['not JSON outside the items', '{"items":[],x}'],
  ])('refuses %s with CERTLOOP_WATCH_FAILED', (_, text) => {
    expect(refusal(text)).toBe('CERTLOOP_WATCH_FAILED');
  });
});

describe('the reflector reads LIST pages item by item', () => {
  it('1,200 Secrets (three pages of 500) all arrive as initial states', async () => {
    const emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
    const writer = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
    const count = 1200;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) {
          const i = next++;
          await writer.put(`s-${i}`, { data: { k: new Uint8Array([i & 255, i >> 8]) } });
        }
      }),
    );
    const store = new KubernetesSecretStore({
      kubeConfig: emulator.kubeConfig,
      namespace: 'gloo-mesh',
      clock: new ManualClock(new Date('2026-01-01T00:00:00Z')),
    });
    try {
      const abort = new AbortController();
      const firsts = await Promise.all(
        [0, 499, 500, 1199].map(async (i) => {
          for await (const event of store.watch(`s-${i}`, { signal: abort.signal })) return event;
        }),
      );
      abort.abort();
      expect(firsts.map((e) => e?.type === 'initial' && [...(e.secret?.data.k ?? [])])).toEqual([
        [0, 0],
        [243, 1],
        [244, 1],
        [175, 4],
      ]);
      expect(store.informer.size).toBe(count);
      expect(store.informer.reflector.stats.lists).toBe(1);
    } finally {
      await store.close();
      await writer.close();
      await emulator.close();
    }
  });
});
