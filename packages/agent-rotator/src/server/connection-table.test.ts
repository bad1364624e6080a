/**
 * The connection table and the one heartbeat sweep, keyed by table ids: each stream gets its own heartbeat
 * sequence on the injected clock, a removed stream gets no more heartbeats and leaves the sweep at its next due
 * time, and every field shown of a connection is the one it was added with.
 */
import { ManualClock } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import type { AgentMessage, ServerMessage } from '../shared/proto.js';
import type { BidiCall } from './grpc/server.js';
import { HeartbeatSweep } from './heartbeat-sweep.js';
import { ConnectionTable } from './relay-service.js';

/** A call that records what the table writes to it (the table only writes and ends). */
function recordingCall(): BidiCall<AgentMessage, ServerMessage> & { written: ServerMessage[] } {
  const written: ServerMessage[] = [];
  return {
    path: '/certloop.relay.v1.Relay/Connect',
    peer: '127.0.0.1',
    socket: undefined,
    deadline: undefined,
    cancelled: false,
    getAuthContext: () => ({}),
    onMessage: undefined,
    onHalfClose: undefined,
    onClose: undefined,
    write: (message) => void written.push(message),
    end: () => undefined,
    written,
  };
}

describe('ConnectionTable heartbeats', () => {
  it('beats each stream with its own sequence and forgets a removed one', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const changes: number[] = [];
    const table = new ConnectionTable(clock, () => changes.push(table.size));
    const sweep = new HeartbeatSweep<number>(clock, 1000, (id) => {
      if (!table.heartbeat(id)) sweep.delete(id);
    });
    const now = clock.now();
    const info = {
      cluster: 'cluster-a',
      agent: 'agent-a',
      peer: '127.0.0.1',
      serialNumber: '01',
      issuerKeyId: 'ab',
      certificateNotAfter: new Date(now.getTime() + 86_400_000),
      connectedAt: now,
      lastHeartbeatAt: now,
      heartbeats: 0,
    };
    const [a, b] = [recordingCall(), recordingCall()];
    const added = table.add(info, a);
    const other = table.add({ ...info, cluster: 'cluster-b' }, b);
    expect(table.list()).toEqual([
      { id: added.id, ...info },
      { id: other.id, ...info, cluster: 'cluster-b' },
    ]);
    sweep.add(added.id);
    await clock.advance(500);
    sweep.add(other.id);
    await clock.advance(1500); // a at 1000 and 2000, b at 1500
    expect(a.written.map((m) => m.heartbeat?.sequence)).toEqual([1, 2]);
    expect(b.written.map((m) => m.heartbeat?.sequence)).toEqual([1]);
    expect(a.written[1]!.heartbeat!.sentAtMs).toBe(clock.now().getTime());

    table.remove(added.id);
    expect(table.heartbeat(added.id)).toBe(false);
    await clock.advance(1000); // a is due at 3000: not in the table, it leaves the sweep; b beats at 2500
    expect(a.written).toHaveLength(2);
    expect(b.written.map((m) => m.heartbeat?.sequence)).toEqual([1, 2]);
    expect(sweep.size).toBe(1);
    expect(changes).toEqual([1, 2, 1]);
    sweep.close();
  });
});
