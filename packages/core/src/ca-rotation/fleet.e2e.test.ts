import { describe, expect, it } from 'vitest';
import { runFleet } from './fixtures/fleet.js';

describe('1,000 in-process agents through a root rotation and an intermediate rotation', () => {
  it('0 failed handshakes, 0 failed renewals', async () => {
    const started = performance.now();
    const figures = await runFleet(1000);
    console.log(
      `fleet: ${figures.agents} agents, ${figures.connects} connects, ${figures.renewals} renewals, ` +
        `${figures.failedHandshakes} failed handshakes, ${figures.failedRenewals} failed renewals, ` +
        `${Math.round(performance.now() - started)} ms\n  ${figures.phases.join('\n  ')}`,
    );
    expect(figures).toMatchObject({ failedHandshakes: 0, failedRenewals: 0, renewals: 3000 });
    expect(figures.phases).toContain('root: 1000/1000 consumers hold {A,B}');
  }, 600_000);
});
