/**
 * The CA rotations on `certloop status` and its page: the record's phase and convergence, read from the store,
 * served by the status page's JSON and events, and drawn above the secrets.
 */
import { bootstrapRelayPki, CaRotation, MemorySecretStore } from '@certloop/core';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusBoard } from './board.js';
import { statusPage } from './page.js';
import { RotationBoard, readRotationLines, renderRotationLines } from './rotation-board.js';
import { startStatusServer } from './serve.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('CA rotations on the status', () => {
  it('shows the phase and the convergence of a rotation under way, in the text, the JSON and the page', async () => {
    const store = new MemorySecretStore();
    await bootstrapRelayPki({ store, token: false });
    expect(await readRotationLines(store)).toEqual([]);
    const rotation = new CaRotation({
      ca: 'root',
      store,
      convergence: [
        {
          observations: async () => [
            { consumer: 'cluster-7', kind: 'agent', bundleDigest: 'f'.repeat(64), observedAt: new Date() },
          ],
        },
      ],
    });
    await rotation.prepare();
    await rotation.checkConvergence();
    const lines = await readRotationLines(store);
    expect(lines).toMatchObject([{ ca: 'root', phase: 'converge', underWay: true, converged: 0, total: 1 }]);
    expect(renderRotationLines(lines)).toMatch(
      /root CA rotation \w+: converge since .*; 0\/1 consumers hold \{A,B\}; waiting for cluster-7/,
    );

    const board = new StatusBoard({ watcher: store, roles: ['root'] });
    await board.start();
    cleanups.push(() => board.stop());
    const rotations = new RotationBoard(store, 60_000);
    await rotations.start();
    cleanups.push(() => rotations.stop());
    const server = await startStatusServer({
      board,
      host: '127.0.0.1',
      port: 0,
      storeDescription: 'memory',
      rotations: () => rotations.lines(),
    });
    cleanups.push(() => server.close());
    const api = (await (await fetch(new URL('/api/status', server.url))).json()) as { rotations: unknown[] };
    expect(api.rotations).toMatchObject([
      { ca: 'root', phase: 'converge', convergence: expect.stringContaining('0/1') },
    ]);
    expect(statusPage()).toContain('id="rotations"');
  });
});
