/**
 * Per-peer token buckets on the injected clock's monotonic reading (a wall-clock step changes nothing).
 */
import { ManualClock } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { PeerRateLimiter, peerAddress } from './rate-limit.js';

describe('PeerRateLimiter', () => {
  it('allows a burst, refills over time, and keeps peers apart', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const limiter = new PeerRateLimiter({ burst: 2, perSecond: 1, clock });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([true, true, false]);
    expect(limiter.take('b')).toBe(true);
    await clock.advance(999);
    expect(limiter.take('a')).toBe(false);
    await clock.advance(1);
    expect(limiter.take('a')).toBe(true);
  });

  it('charges failures even when empty, and allows() spends nothing', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const limiter = new PeerRateLimiter({ burst: 1, perSecond: 0.5, clock });
    expect(limiter.allows('a')).toBe(true);
    expect(limiter.allows('a')).toBe(true);
    limiter.charge('a');
    limiter.charge('a');
    expect(limiter.allows('a')).toBe(false);
    await clock.advance(2000);
    expect(limiter.allows('a')).toBe(true);
  });

  it('tracks a bounded number of peers, forgetting the least recently seen', () => {
    const limiter = new PeerRateLimiter({
      burst: 1,
      perSecond: 0,
      maxPeers: 2,
      clock: new ManualClock('2026-01-01T00:00:00Z'),
    });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c');
    expect(limiter.trackedPeers).toBe(2);
    // 'b' was forgotten (a fresh bucket), 'a' was kept (still empty)
    expect(limiter.take('b')).toBe(true);
    expect(limiter.allows('c')).toBe(false);
  });

  it('neither refills nor empties a bucket when only the wall clock steps', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const limiter = new PeerRateLimiter({ burst: 1, perSecond: 1, clock });
    expect(limiter.take('a')).toBe(true);
    clock.stepWall(86_400_000); // a day forward on the wall clock: no time passed for the bucket
    expect(limiter.take('a')).toBe(false);
    clock.stepWall(-2 * 86_400_000);
    await clock.advance(1000);
    expect(limiter.take('a')).toBe(true);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new PeerRateLimiter({ burst: 0, perSecond: 1 })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});

describe('peerAddress', () => {
  it('strips the scheme and port of grpc-js peer strings', () => {
    expect(peerAddress('ipv4:127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerAddress('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerAddress('ipv6:[::1]:5000')).toBe('::1');
    expect(peerAddress('[::1]:5000')).toBe('::1');
  });
});
