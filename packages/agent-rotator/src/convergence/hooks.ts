/**
 * `@certloop/agent-rotator` convergence hooks: what the relay's services tell the CA rotation's side of the server
 * (a stream opened with a bundle digest, a new digest, a stream closed, a Renew), kept apart from the services so
 * both evolve on their own.
 */
import type { RenewalRequest } from '@certloop/core';
import type { ConnectedAgent } from '../server/relay-service.js';
import type { BundleTable } from './bundle-table.js';
import type { RenewalBroadcast } from './renewal.js';

export interface ConvergenceHooks {
  /** A stream was welcomed; resolves the RenewNow to send it, if any. */
  opened(agent: ConnectedAgent, digest: string): RenewalRequest | undefined;
  /** The stream `id` reported a digest (heartbeat or BundleReport). */
  reported(id: number, digest: string): void;
  closed(agent: ConnectedAgent): void;
  /** A Renew call of `cluster` carried `digest`. */
  renewed(cluster: string, digest: string): void;
}

const DIGEST = /^[0-9a-f]{64}$/;

/** Only a well-formed digest is recorded; anything else counts as "did not say". */
function clean(digest: string): string {
  return DIGEST.test(digest) ? digest : '';
}

function reporterOf(agent: ConnectedAgent): string {
  return agent.agent || agent.peer;
}

export function convergenceHooks(table: BundleTable, broadcast: RenewalBroadcast): ConvergenceHooks {
  const open = new Map<number, ConnectedAgent>();
  return {
    opened(agent, digest) {
      open.set(agent.id, agent);
      table.report(
        {
          cluster: agent.cluster,
          reporter: reporterOf(agent),
          via: 'stream',
          digest: clean(digest),
          issuerKeyId: agent.issuerKeyId,
        },
        'opened',
      );
      return broadcast.forNewStream(agent.issuerKeyId);
    },
    reported(id, digest) {
      const agent = open.get(id);
      if (!agent) return;
      table.report({ cluster: agent.cluster, reporter: reporterOf(agent), via: 'stream', digest: clean(digest) });
    },
    closed(agent) {
      if (!open.delete(agent.id)) return;
      table.report({ cluster: agent.cluster, reporter: reporterOf(agent), via: 'stream', digest: '' }, 'closed');
    },
    renewed(cluster, digest) {
      const d = clean(digest);
      if (d) table.report({ cluster, reporter: 'renew', via: 'renew', digest: d });
    },
  };
}
