/**
 * A year on a ManualClock with the seed's numbers: 365-day client certificates renewed at ratio 0.1 (36.5 days
 * before expiry, made earlier only by the jitter) by whichever of three replicas holds the lease, over real gRPC
 * with mutual TLS. One CSR per rotation across the replicas, every replica moving its stream to the new
 * certificate, and never an expired certificate presented.
 *
 * Node's TLS judges certificates on the real clock, so the simulated year starts 340 days before now: every
 * certificate it issues (the first, and the one renewed around day 328) is also valid today.
 */
import { LeaseElector, ManualClock, MemoryLeaseLock } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import type { RelayAgent, RelayAgentEvent } from './agent/relay-agent.js';
import { relayPerTest } from './relay-per-test.test-support.js';
import type { RelayServerEvent } from './server/relay-server.js';
import { until } from './testing/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RATIO = 0.1;
const JITTER = 0.1;

const { startRelay } = relayPerTest();

describe('a year of relay rotations', () => {
  it('renews once per 365-day certificate at ratio 0.1, one CSR across three replicas, never presenting an expired certificate', async () => {
    const start = Date.now() - 340 * DAY;
    const clock = new ManualClock(start, { settleTurns: 3 });
    const relay = await startRelay({ clock, heartbeatIntervalMs: 6 * HOUR });
    const serverEvents: RelayServerEvent[] = [];
    relay.server.subscribe((e) => {
      if (e.type === 'issued' || e.type === 'refused') serverEvents.push(e);
    });
    const lock = new MemoryLeaseLock();
    const started: Array<{ replica: string; at: number }> = [];
    let finished = 0;
    const agents: RelayAgent[] = ['replica-a', 'replica-b', 'replica-c'].map((identity) => {
      const agent = relay!.agent({
        cluster: 'cluster-1',
        agentName: identity,
        leader: new LeaseElector({
          lock,
          identity,
          clock,
          leaseDurationMs: 3 * HOUR,
          renewDeadlineMs: 2 * HOUR,
          retryPeriodMs: HOUR,
        }),
        ratio: RATIO,
        jitter: JITTER,
        heartbeatIntervalMs: 6 * HOUR,
        recheckIntervalMs: 6 * HOUR,
        reconnectBackoff: { initialMs: 60_000, maxMs: HOUR },
      });
      agent.subscribe((e: RelayAgentEvent) => {
        if (e.type !== 'rotation') return;
        if (e.event.type === 'started') started.push({ replica: identity, at: clock.now().getTime() });
        if (e.event.type === 'succeeded' || e.event.type === 'failed' || e.event.type === 'superseded') finished++;
      });
      return agent;
    });
    await Promise.all(agents.map((a) => a.start()));
    const connectedWith = (serial: string) => agents.every((a) => a.status().connection.clientSerialNumber === serial);

    await until(async () => (await relay!.store.get('relay-client-tls-secret')) !== undefined);
    const first = serverEvents[0]!;
    expect(first).toMatchObject({ type: 'issued', method: 'Bootstrap', cluster: 'cluster-1' });
    await until(() => first.type === 'issued' && connectedWith(first.serialNumber));

    let expiredPresented = 0;
    for (let t = start; t < start + 365 * DAY; t += HOUR) {
      await clock.advanceTo(t + HOUR);
      // a rotation in flight talks to the server over real sockets: let it finish before time moves on
      if (started.length > finished) await until(() => started.length === finished);
      const now = clock.now().getTime();
      for (const c of relay.server.connections()) if (c.certificateNotAfter.getTime() <= now) expiredPresented++;
    }

    const issued = serverEvents.filter((e) => e.type === 'issued');
    expect(serverEvents.filter((e) => e.type === 'refused')).toEqual([]);
    expect(issued.map((e) => e.type === 'issued' && e.method)).toEqual(['Bootstrap', 'Renew']);
    // one CSR per rotation: one bootstrap and one renewal, each started by one replica only
    expect(started).toHaveLength(2);
    const firstNotAfter = first.type === 'issued' ? first.notAfter.getTime() : 0;
    const lifetime = 365 * DAY + 60_000; // the CA backdates notBefore by a minute
    const renewAt = firstNotAfter - RATIO * lifetime;
    const earliest = renewAt - JITTER * RATIO * lifetime;
    expect(started[1]!.at).toBeGreaterThanOrEqual(earliest - HOUR);
    expect(started[1]!.at).toBeLessThanOrEqual(renewAt + HOUR);
    expect((firstNotAfter - started[1]!.at) / DAY).toBeGreaterThan(36);
    const second = issued[1]!;
    await until(() => second.type === 'issued' && connectedWith(second.serialNumber));
    expect(expiredPresented).toBe(0);
    const stored = await relay.store.get('relay-client-tls-secret');
    expect(stored?.annotations['certloop.io/serial']).toBe(second.type === 'issued' ? second.serialNumber : '');
  }, 120_000);
});
