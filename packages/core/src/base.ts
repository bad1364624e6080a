/**
 * `@certloop/core/base`: the part of core an adapter needs at run time without the X.509 engine (no asn1js or
 * pkijs loaded, about 12 MiB less RSS in a process that only watches Secrets): typed errors, abort helpers,
 * clocks, backoff, lease election and MicroTime, store name and input checks, the cert-manager layout test. The
 * same modules as `@certloop/core` exports (one `CertloopError` class whichever entry loads it).
 */

export { type Clock, sleep, systemClock, type TimerHandle } from './clock/clock.js';
export * from './errors.js';
export { LeaseElector, type LeaseElectorOptions } from './leader/lease-elector.js';
export { formatMicroTime, parseMicroTime } from './leader/micro-time.js';
export { type AbortListener, onAbort } from './lib/abort-fanout.js';
export { type BackoffOptions, backoffDelay } from './rotation/backoff.js';
export { isCertManagerSecret } from './secret/tls-layout.js';
export { assertSecretInput, assertSecretName } from './store/names.js';
