/**
 * Replicas: the fork helper's own refusals (the two-process run is replicas.e2e.test.ts, `npm run test:e2e`).
 */
import { describe, expect, it } from 'vitest';
import { forkRelayReplicas, replicaIndex } from './replicas.js';

describe('forkRelayReplicas', () => {
  it('forks only from the primary, with a sensible count', () => {
    expect(replicaIndex()).toBeUndefined();
    expect(() => forkRelayReplicas({ count: 0 })).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });
});
