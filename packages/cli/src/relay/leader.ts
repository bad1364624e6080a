/**
 * `certloop agent --leader-election KIND`: one elector factory per kind, so only one replica of a cluster renews
 * its client certificate. `kubernetes` takes a coordination.k8s.io Lease beside the Secrets (`--store kubernetes`);
 * `file` a lease file in `--lease-dir` (replicas on one host or a shared volume).
 */
import { resolve } from 'node:path';
import { FileLeaseElector, type LeaderElector } from '@certloop/core';
import { parseDuration } from '../lib/durations.js';
import { cliError } from '../lib/errors.js';
import type { OpenedStore } from '../store-factory.js';

export interface ElectorRequest {
  readonly opts: Record<string, unknown>;
  readonly cwd: string;
  readonly identity: string;
  readonly cluster: string;
  readonly opened: OpenedStore;
}

/** `--lease-duration` (default 15 s): renew deadline at two thirds of it, retry every sixth. */
export function leaseTimings(opts: Record<string, unknown>) {
  const leaseDurationMs = parseDuration(String(opts.leaseDuration ?? '15s'), '--lease-duration') * 1000;
  return {
    leaseDurationMs,
    renewDeadlineMs: Math.round((leaseDurationMs * 2) / 3),
    retryPeriodMs: Math.max(100, Math.round(leaseDurationMs / 6)),
  };
}

export type ElectorFactory = (request: ElectorRequest) => Promise<LeaderElector>;

export const LEADER_ELECTORS: Record<string, ElectorFactory> = {
  kubernetes: async ({ opts, identity, cluster, opened }) => {
    if (!opened.kubernetes) {
      throw cliError(
        'CERTLOOP_USAGE',
        '--leader-election kubernetes needs --store kubernetes',
        'or use --leader-election file',
      );
    }
    const { KubernetesLeaseElector } = await import('@certloop/k8s-store');
    return new KubernetesLeaseElector({
      kubeConfig: opened.kubernetes.kubeConfig,
      namespace: opened.kubernetes.namespace,
      name: `certloop-agent-${cluster}`,
      identity,
      ...leaseTimings(opts),
    });
  },
  file: async ({ opts, cwd, identity, cluster }) => {
    if (!opts.leaseDir) {
      throw cliError('CERTLOOP_USAGE', '--leader-election file needs --lease-dir DIR', 'a folder every replica shares');
    }
    return new FileLeaseElector({
      directory: resolve(cwd, String(opts.leaseDir)),
      name: `certloop-agent-${cluster}`,
      identity,
      ...leaseTimings(opts),
    });
  },
};
