import { describe, expect, it } from 'vitest';
import { runFleet } from './fixtures/fleet.js';

describe('a fleet of in-process agents through a root rotation and an intermediate rotation', () => {
  it('25 agents: 0 failed handshakes, 0 failed renewals (1,000 in fleet.e2e.test.ts)', async () => {
    const figures = await runFleet(25);
    expect(figures).toMatchObject({ failedHandshakes: 0, failedRenewals: 0 });
    expect(figures.phases).toContain('root: 25/25 consumers hold {A,B}');
    expect(figures.phases).toContain('root: 0 live under A after renewals');
    expect(figures.phases).toContain('intermediate: 0 live under A after renewals');
    expect(figures.renewals).toBe(75);
  });
});
