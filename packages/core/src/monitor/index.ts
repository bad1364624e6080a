export {
  ExpiryMonitor,
  type ExpiryMonitorOptions,
  type MonitorEvent,
  type MonitoredSecret,
} from './expiry-monitor.js';
export { KeyCheckCache, type KeyCheckCacheOptions } from './key-check-cache.js';
export { type ExpiryMetricsOptions, registerExpiryMetrics } from './metrics.js';
export { type CertificateState, type CertificateStatus, secretFacts, statusAt } from './status.js';
