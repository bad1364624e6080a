import { get, type IncomingMessage } from 'node:http';
import { MemorySecretStore, DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusBoard } from './board.js';
import { startStatusServer } from './serve.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Reads server-sent `status` events from a response, one by one. */
function events(res: IncomingMessage) {
  let buffer = '';
  const queue: unknown[] = [];
  const waiting: Array<(v: unknown) => void> = [];
  res.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (/^event: status$/m.test(block) && data) {
        const value = JSON.parse(data);
        const w = waiting.shift();
        if (w) w(value);
        else queue.push(value);
      }
      end = buffer.indexOf('\n\n');
    }
  });
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
}

describe('status page server', () => {
  it('serves the page, the rows as JSON, and every change as a server-sent event', async () => {
    const store = new MemorySecretStore();
    const pki = await createTestPki();
    const first = await pki.issue({ commonName: 'relay-server', dnsNames: ['localhost'] });
    await store.put(N.server, first.secret);
    const board = new StatusBoard({ watcher: store, roles: ['server', 'client'] });
    await board.start();
    cleanups.push(() => board.stop());
    const server = await startStatusServer({ board, host: '127.0.0.1', port: 0, storeDescription: 'memory' });
    cleanups.push(() => server.close());

    const page = await fetch(server.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('new EventSource');
    const api = (await (await fetch(new URL('/api/status', server.url))).json()) as {
      store: string;
      secrets: unknown[];
    };
    expect(api.store).toBe('memory');
    expect(api.secrets).toMatchObject([
      { name: N.server, state: 'ok', serialNumber: first.serialNumber },
      { name: N.client, state: 'missing' },
    ]);
    expect((await fetch(new URL('/nope', server.url))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);

    const res = await new Promise<IncomingMessage>((resolve) => get(new URL('/events', server.url), resolve));
    expect(res.headers['content-type']).toBe('text/event-stream');
    const next = events(res);
    const initial = (await next()) as { secrets: Array<{ serialNumber?: string }> };
    expect(initial.secrets[0]!.serialNumber).toBe(first.serialNumber);
    const renewed = await pki.issue({ commonName: 'relay-server', dnsNames: ['localhost'] });
    await store.put(N.server, renewed.secret);
    let update = (await next()) as { secrets: Array<{ serialNumber?: string }> };
    while (update.secrets[0]!.serialNumber !== renewed.serialNumber) update = (await next()) as typeof update;
    expect(update.secrets[0]!.serialNumber).toBe(renewed.serialNumber);
    res.destroy();
  });
});
