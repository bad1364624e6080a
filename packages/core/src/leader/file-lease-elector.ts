/**
 * `@certloop/core` FileLeaseElector: leader election among processes that share a directory (one host, or a
 * filesystem with working `rename` and lock files).
 *
 * It is a {@link LeaseElector} over a {@link StoreLeaseLock} over a `FileSecretStore`: the lease is the secret
 * `<directory>/<name>/` (key `lease.json`), and the store's cross-process compare-and-swap fences takeovers.
 * The record's `acquireTime`/`renewTime` are the writer's wall times, for people to read; like client-go, each
 * process judges expiry from when it saw the record change, on its own monotonic clock, so neither skew between
 * processes nor a step of one process's wall clock can make two leaders.
 */
import type { Clock } from '../clock/clock.js';
import { FileSecretStore } from '../store/file-store.js';
import { LeaseElector } from './lease-elector.js';
import type { LeaseElectorTimings } from './lease-elector-options.js';
import { StoreLeaseLock } from './store-lease-lock.js';

export interface FileLeaseElectorOptions extends LeaseElectorTimings {
  /** The directory of the file store holding the lease (created on the first write). */
  readonly directory: string;
  /** The lease's secret name (default `certloop-leader`). */
  readonly name?: string;
  /** This process's identity, unique among the candidates (e.g. `${hostname}-${pid}`). */
  readonly identity: string;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export class FileLeaseElector extends LeaseElector {
  /** The lock the elector campaigns on (`secret/<name>` in the file store). */
  readonly lock: StoreLeaseLock;

  constructor(options: FileLeaseElectorOptions) {
    const store = new FileSecretStore({ directory: options.directory, ...(options.clock && { clock: options.clock }) });
    const lock = new StoreLeaseLock({ store, name: options.name ?? 'certloop-leader' });
    super({ ...options, lock });
    this.lock = lock;
  }
}
