/**
 * `@certloop/k8s-store` KubernetesLeaseElector: core's `LeaseElector` (client-go's algorithm) wired to a
 * {@link KubernetesLeaseLock}, the one-line way to elect a leader among replicas with a Lease.
 */
import { hostname } from 'node:os';
import type { Clock, LeaseElectorTimings } from '@certloop/core';
import { LeaseElector } from '@certloop/core/base';
import { KubernetesLeaseLock, type KubernetesLeaseLockOptions } from './lease-lock.js';

export interface KubernetesLeaseElectorOptions extends KubernetesLeaseLockOptions, LeaseElectorTimings {
  /** This replica's identity, unique among candidates (default `<hostname>-<pid>`, the pod name in a pod). */
  readonly identity?: string;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export class KubernetesLeaseElector extends LeaseElector {
  readonly lock: KubernetesLeaseLock;

  constructor(options: KubernetesLeaseElectorOptions) {
    const lock = new KubernetesLeaseLock(options);
    super({ ...options, lock, identity: options.identity ?? `${hostname()}-${process.pid}` });
    this.lock = lock;
  }

  /** Stops campaigning, releases the lease if held, and frees connections. */
  override async stop(): Promise<void> {
    await super.stop();
    this.lock.close();
  }
}
