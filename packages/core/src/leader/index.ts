export { FileLeaseElector, type FileLeaseElectorOptions } from './file-lease-elector.js';
export {
  InProcessLeaderElector,
  type InProcessLeaderElectorOptions,
  StaticLeaderElector,
  type StaticLeaderElectorOptions,
} from './in-process-elector.js';
export { LeaseElector, type LeaseElectorOptions } from './lease-elector.js';
export { LEASE_ELECTOR_DEFAULTS, type LeaseElectorTimings } from './lease-elector-options.js';
export type { LeaseLock, LeaseLockCallOptions, LeaseRecord, LeaseUpdate, VersionedLeaseRecord } from './lease-lock.js';
export { MemoryLeaseLock, type MemoryLeaseLockOptions } from './memory-lease-lock.js';
export { formatMicroTime, parseMicroTime } from './micro-time.js';
export { LEASE_DATA_KEY, LEASE_SECRET_TYPE, StoreLeaseLock, type StoreLeaseLockOptions } from './store-lease-lock.js';
export type { LeaderElector, LeaderEvent } from './types.js';
