/**
 * The issuance window (issue 14, item 14): the server refuses, with `CERTLOOP_LIFETIME_TOO_SHORT` (FAILED_PRECONDITION)
 * and nothing handed out, a request it could only answer with a certificate already due for renewal: a lifetime
 * shorter than the CA's backdate at the agent's ratio (or at 0.5 when the agent does not say), judged before signing
 * on the local CA's known backdate and after signing on what an injected CA gave.
 */
import { ManualClock } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { bootstrapClient, unary } from '../agent/channel.js';
import { relayPerTest } from '../relay-per-test.test-support.js';
import type { BootstrapRequest, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { startTestRelay, TEST_TOKEN, type TestRelay } from '../testing/index.js';
import { assertNotDueAtIssuance } from './issuance-window.js';
import { csrFor } from './test-support.js';

const { clients, startRelay } = relayPerTest();

async function outcome(r: TestRelay, lifetimeSeconds: number, renewalRatio: number): Promise<string> {
  const client = bootstrapClient({ serverAddress: r.address }, r.trustBundlePem);
  clients.push(client);
  const { csrPem } = await csrFor('cluster-1');
  const request: BootstrapRequest = { token: TEST_TOKEN, cluster: 'cluster-1', csrPem, lifetimeSeconds, renewalRatio };
  try {
    await unary<BootstrapRequest, SignResponse>(client, 'Bootstrap', request);
    return 'issued';
  } catch (err) {
    const e = err as grpc.ServiceError;
    return `${grpc.status[e.code]} ${e.metadata?.get(ERROR_CODE_TRAILER)[0]}`;
  }
}

describe('issuance window', () => {
  it.each([
    // [lifetime s, backdate s, ratio, due at once]
    [30, 60, 0.5, true],
    [30, 60, 0.1, false],
    [60, 60, 0.5, true],
    [61, 60, 0.5, false],
    [3600, 60, 0.99, true],
    [3600, 0, 0.5, false],
  ])('a %i s certificate backdated %i s at ratio %f: due at once %s', (lifetime, backdate, ratio, due) => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const check = () =>
      assertNotDueAtIssuance({ notBefore: now - backdate * 1000, notAfter: now + lifetime * 1000 }, ratio, now);
    if (due) expect(check).toThrow(expect.objectContaining({ code: 'CERTLOOP_LIFETIME_TOO_SHORT' }));
    else expect(check).not.toThrow();
  });

  it('refuses 30 s certificates at ratio 0.5 (or unsaid) with the default 60 s backdate, and issues at ratio 0.1', async () => {
    const relay = await startRelay({ clock: new ManualClock(Date.now()) });
    expect(await outcome(relay, 30, 0.5)).toBe('FAILED_PRECONDITION CERTLOOP_LIFETIME_TOO_SHORT');
    expect(await outcome(relay, 30, 0)).toBe('FAILED_PRECONDITION CERTLOOP_LIFETIME_TOO_SHORT');
    expect(relay.server.metrics()).toMatchObject({ issued: 0, refused: { CERTLOOP_LIFETIME_TOO_SHORT: 2 } });
    expect(await outcome(relay, 30, 0.1)).toBe('issued');
  });

  it('judges what an injected CA gave, whose backdate the server does not know', async () => {
    const relay = await startRelay({ clock: new ManualClock(Date.now()) });
    const injected = await startTestRelay({
      clock: new ManualClock(Date.now()),
      store: relay.store,
      ca: relay.pki.signingCa, // backdates 60 s; the server predicts with 0 and checks the answer
    });
    try {
      expect(await outcome(injected, 40, 0.5)).toBe('FAILED_PRECONDITION CERTLOOP_LIFETIME_TOO_SHORT');
      expect(injected.server.metrics()).toMatchObject({ issued: 0 });
    } finally {
      await injected.stop();
    }
  });
});
