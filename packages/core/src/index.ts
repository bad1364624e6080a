/**
 * `@certloop/core`: the interfaces, X.509 engine, local CA, grace-ratio math, stores, watchers, leader
 * election, live TLS credentials, rotation, expiry monitoring, the TLS secret layout and the relay PKI.
 */
export * from './ca/index.js';
export * from './ca-rotation/index.js';
export * from './clock/index.js';
export * from './errors.js';
export * from './leader/index.js';
export { type AbortListener, onAbort } from './lib/abort-fanout.js';
export { Emitter, type Listener } from './lib/emitter.js';
export * from './monitor/index.js';
export * from './provider/index.js';
export * from './relay/index.js';
export * from './rotation/index.js';
export * from './secret/index.js';
export * from './store/index.js';
export * from './watch/index.js';
export * from './x509/index.js';
