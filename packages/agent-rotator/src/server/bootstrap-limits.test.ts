/**
 * Failed-bootstrap limits (issue 14, item 13): one client behind a shared address exhausts only its own
 * (address, cluster) budget, so agents of other clusters behind that address keep bootstrapping through a flood of
 * bad tokens; a client rotating cluster names is bounded by the global budget. Buckets run on a `ManualClock`, so
 * nothing refills unless the test says so.
 */
import { ManualClock } from '@certloop/core';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { bootstrapClient, unary } from '../agent/channel.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import type { BootstrapRequest, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { TEST_TOKEN } from '../testing/index.js';
import { BootstrapFailureLimiter } from './bootstrap-limits.js';
import { csrFor } from './test-support.js';

const { clients, startRelay } = relayPerTest();

/** Outcome of one Bootstrap: `issued` or the certloop code of the refusal. */
async function attempt(client: grpc.Client, request: BootstrapRequest): Promise<string> {
  try {
    await unary<BootstrapRequest, SignResponse>(client, 'Bootstrap', request);
    return 'issued';
  } catch (err) {
    return String((err as grpc.ServiceError).metadata?.get(ERROR_CODE_TRAILER)[0]);
  }
}

const count = (outcomes: string[], what: string) => outcomes.filter((o) => o === what).length;

describe('BootstrapFailureLimiter', () => {
  it('limits per (address, cluster) and in all, charging only failures', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const limits = new BootstrapFailureLimiter({
      perCluster: { burst: 2, perSecond: 1 },
      global: { burst: 3, perSecond: 1 },
      clock,
    });
    limits.failed('10.0.0.1', 'a');
    limits.failed('10.0.0.1', 'a');
    expect(() => limits.admit('10.0.0.1', 'a')).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_RATE_LIMITED', details: { scope: 'cluster' } }),
    );
    limits.admit('10.0.0.1', 'b'); // same address, other cluster
    limits.admit('10.0.0.2', 'a'); // same cluster, other address
    limits.failed('10.0.0.9', 'z');
    expect(() => limits.admit('10.0.0.1', 'b')).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_RATE_LIMITED', details: { scope: 'global' } }),
    );
    await clock.advance(1000);
    limits.admit('10.0.0.1', 'b');
  });
});

describe('Bootstrap behind one shared address', () => {
  it('lets the good tokens of many clusters through a flood of bad ones from the same address', async () => {
    const relay = await startRelay({
      clock: new ManualClock(Date.now()),
      callRateLimit: { burst: 10_000, perSecond: 1 },
      failedBootstrapRateLimit: { burst: 3, perSecond: 0.001 },
      failedBootstrapBudget: { burst: 40, perSecond: 0.001 },
    });
    const bad = await csrFor('cluster-bad');
    const hostile = bootstrapClient({ serverAddress: relay.address }, relay.trustBundlePem);
    const good = bootstrapClient({ serverAddress: relay.address }, relay.trustBundlePem);
    clients.push(hostile, good);
    const flood: Promise<string>[] = [];
    for (let i = 0; i < 150; i++) {
      // a hostile client guessing for one cluster, a misconfigured agent retrying its stale token for another
      const cluster = i % 2 === 0 ? 'cluster-bad' : 'cluster-stale';
      flood.push(attempt(hostile, { token: `guess-${i}-0123456789`, cluster, csrPem: bad.csrPem, lifetimeSeconds: 0 }));
    }
    const goods: Promise<string>[] = [];
    for (let n = 0; n < 12; n++) {
      const { csrPem } = await csrFor(`cluster-${n}`);
      goods.push(attempt(good, { token: TEST_TOKEN, cluster: `cluster-${n}`, csrPem, lifetimeSeconds: 0 }));
    }
    const [floodOutcomes, goodOutcomes] = await Promise.all([Promise.all(flood), Promise.all(goods)]);
    expect(goodOutcomes).toEqual(Array(12).fill('issued'));
    // each flooding pair had its 3 guesses evaluated; everything else was refused before the token was looked at
    expect(count(floodOutcomes, 'CERTLOOP_TOKEN_INVALID')).toBe(6);
    expect(count(floodOutcomes, 'CERTLOOP_RATE_LIMITED')).toBe(144);
    expect(relay.server.metrics()).toMatchObject({ issued: 12, bootstraps: 12 });
  });

  it('bounds the guesses of a client that rotates cluster names by the global budget', async () => {
    const clock = new ManualClock(Date.now());
    const relay = await startRelay({
      clock,
      callRateLimit: { burst: 10_000, perSecond: 1 },
      failedBootstrapRateLimit: { burst: 3, perSecond: 0.001 },
      failedBootstrapBudget: { burst: 20, perSecond: 1 },
    });
    const bad = await csrFor('cluster-bad');
    const hostile = bootstrapClient({ serverAddress: relay.address }, relay.trustBundlePem);
    clients.push(hostile);
    const outcomes: string[] = [];
    for (let i = 0; i < 60; i++) {
      const request = { token: `guess-${i}-0123456789`, cluster: `fresh-${i}`, csrPem: bad.csrPem, lifetimeSeconds: 0 };
      outcomes.push(await attempt(hostile, request));
    }
    expect(count(outcomes, 'CERTLOOP_TOKEN_INVALID')).toBe(20);
    expect(count(outcomes, 'CERTLOOP_RATE_LIMITED')).toBe(40);
    // the budget refills on the clock: five seconds, five more evaluations in all
    await clock.advance(5000);
    const good = await csrFor('cluster-good');
    const after = await attempt(hostile, {
      token: TEST_TOKEN,
      cluster: 'cluster-good',
      csrPem: good.csrPem,
      lifetimeSeconds: 0,
    });
    expect(after).toBe('issued');
  });
});
