/**
 * Test support (not published): two agents against one relay server (cluster-1 and cluster-2, each with a client
 * secret of its own), connected, then renewed at half their lifetime on a manual clock.
 */
import type { ManualClock } from '@certloop/core';
import { until } from '../testing/index.js';
import { RelayAgent, type RelayAgentOptions } from './relay-agent.js';

const MINUTE = 60_000;

type AgentCertificate = NonNullable<ReturnType<RelayAgent['status']>['certificate']>;

/**
 * Two agents, not started: `cluster-<n>` writing `relay-client-tls-secret-<n>` (n = 1, 2), server name `localhost`,
 * 3600 s certificates renewed at ratio 0.5.
 */
export function agentPair(
  options: Pick<RelayAgentOptions, 'store' | 'serverAddress' | 'trustBundlePem' | 'clock'>,
): RelayAgent[] {
  return [1, 2].map(
    (n) =>
      new RelayAgent({
        store: options.store,
        cluster: `cluster-${n}`,
        names: { client: `relay-client-tls-secret-${n}` },
        serverAddress: options.serverAddress,
        serverName: 'localhost',
        trustBundlePem: options.trustBundlePem,
        ratio: 0.5,
        lifetimeSeconds: 3600,
        clock: options.clock,
      }),
  );
}

/** Starts `agents` and waits until every one is connected; resolves their certificates at that point. */
export async function startConnected(agents: readonly RelayAgent[]): Promise<AgentCertificate[]> {
  await Promise.all(agents.map((a) => a.start()));
  await until(() => agents.every((a) => a.status().connection.state === 'connected'));
  return agents.map((a) => a.status().certificate!);
}

/**
 * Moves `clock` to 29 minutes before the first of `first` expires (past half the lifetime of each) and waits until
 * every agent holds a certificate other than its `first`.
 */
export async function renewedAtHalfLife(
  clock: ManualClock,
  agents: readonly RelayAgent[],
  first: readonly AgentCertificate[],
): Promise<void> {
  await clock.advanceTo(Math.max(...first.map((c) => c.notAfter.getTime())) - 29 * MINUTE);
  await until(() => agents.every((a, i) => a.status().certificate?.serialNumber !== first[i]!.serialNumber));
}
