/**
 * Agent halts (issue 14, item 14): an agent the server will not issue for (a lifetime due at once) and a revoked
 * agent each reach a distinct halted state and stop calling the server, however far the clock moves, until their
 * material changes; a revoked agent given a new token bootstraps at once and connects with its new certificate.
 * Time runs on a `ManualClock` placed so every certificate is also valid on the real clock TLS uses.
 */
import { isRevokingAuthority, ManualClock } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { until } from '../testing/index.js';
import { recordAgentEvents as record } from './events.test-support.js';
import type { RelayAgentEvent } from './relay-agent.js';

const MINUTE = 60_000;
const { startRelay } = relayPerTest();

const started = (events: RelayAgentEvent[]) =>
  events.filter((e) => e.type === 'rotation' && e.event.type === 'started').length;

describe('RelayAgent halts', () => {
  it('stops in a lifetime-too-short state instead of bootstrapping again and again', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const relay = await startRelay({ clock });
    // 30 s certificates at ratio 0.5 with the server's 60 s backdate: due the moment they are issued
    const agent = relay.agent({
      cluster: 'cluster-1',
      ratio: 0.5,
      lifetimeSeconds: 30,
      rotationBackoff: { initialMs: 1000, maxMs: 5000 },
    });
    const events = record(agent);
    await agent.start();
    await until(() => agent.status().halted !== undefined);
    expect(agent.status().halted).toMatchObject({ reason: 'lifetime-too-short', code: 'CERTLOOP_LIFETIME_TOO_SHORT' });
    expect(events.filter((e) => e.type === 'halted')).toHaveLength(1);
    for (let i = 0; i < 10; i++) await clock.advance(MINUTE);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started(events)).toBe(1);
    expect(relay.server.metrics()).toMatchObject({ issued: 0, refused: { CERTLOOP_LIFETIME_TOO_SHORT: 1 } });
    expect(agent.status()).toMatchObject({ certificate: undefined, lastRotation: { result: 'failed' } });
  });

  it('stops in a revoked state, then bootstraps again once it is given a new token', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const relay = await startRelay({ clock });
    const agent = relay.agent({
      cluster: 'cluster-1',
      ratio: 0.1,
      lifetimeSeconds: 3600,
      reconnectBackoff: { initialMs: 500, maxMs: 2000 },
      rotationBackoff: { initialMs: 500, maxMs: 2000 },
    });
    const events = record(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const revokedSerial = agent.status().certificate!.serialNumber;
    const ca = relay.pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the test relay signs with a revoking CA');
    await ca.revoke({ serialNumber: revokedSerial, reason: 'keyCompromise' });
    await until(() => agent.status().halted !== undefined);
    expect(agent.status()).toMatchObject({
      halted: { reason: 'revoked', code: 'CERTLOOP_CHAIN_REVOKED' },
      connection: { state: 'stopped' },
    });
    const refusedAtHalt = relay.server.metrics().refused.CERTLOOP_CHAIN_REVOKED;
    for (let i = 0; i < 10; i++) await clock.advance(MINUTE);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(relay.server.metrics().refused.CERTLOOP_CHAIN_REVOKED).toBe(refusedAtHalt);
    expect(started(events)).toBe(1); // the first bootstrap only

    // a new token (the server's and the agent's secret alike): the agent bootstraps, not renewing with the revoked one
    const token = (await relay.store.get('relay-identity-token-secret'))!;
    await relay.store.put(
      'relay-identity-token-secret',
      { ...token, data: { token: new TextEncoder().encode('certloop-new-bootstrap-token-9876543210') } },
      { expectedVersion: token.version },
    );
    await until(
      () =>
        agent.status().connection.state === 'connected' &&
        agent.status().connection.clientSerialNumber !== revokedSerial,
    );
    expect(agent.status().halted).toBeUndefined();
    expect(events.filter((e) => e.type === 'resumed')).toMatchObject([{ reason: 'revoked', by: 'token' }]);
    const rotations = events.filter((e) => e.type === 'rotation' && e.event.type === 'succeeded');
    expect(rotations.map((e) => e.type === 'rotation' && e.path)).toEqual(['bootstrap', 'bootstrap']);
    expect(relay.server.metrics()).toMatchObject({ bootstraps: 2, renewals: 0 });
  });

  it('does not halt when only the older certificate its connection was opened with is revoked: it reconnects with the current one', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const relay = await startRelay({ clock });
    const agent = relay.agent({
      cluster: 'cluster-1',
      ratio: 0.5,
      jitter: 0,
      lifetimeSeconds: 3600,
      reconnectBackoff: { initialMs: 500, maxMs: 2000 },
    });
    const events = record(agent);
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const first = agent.status().certificate!;
    await clock.advanceTo(first.notAfter.getTime() - 29 * MINUTE);
    await until(() => agent.status().certificate?.serialNumber !== first.serialNumber);
    const second = agent.status().certificate!.serialNumber;
    expect(agent.status().connection.clientSerialNumber).toBe(first.serialNumber); // the connection stayed
    const ca = relay.pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the test relay signs with a revoking CA');
    await ca.revoke({ serialNumber: first.serialNumber, reason: 'superseded' });
    await until(() => agent.status().connection.clientSerialNumber === second);
    expect(agent.status().halted).toBeUndefined();
    expect(events.filter((e) => e.type === 'halted')).toEqual([]);
    expect(relay.server.connections()).toMatchObject([{ serialNumber: second }]);
  });
});
