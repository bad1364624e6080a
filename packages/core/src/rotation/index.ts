export { type BackoffOptions, backoffDelay } from './backoff.js';
export { checkIssuedCertificate, type ExpectedIdentity, usageOf } from './issued-check.js';
export { assertGraceRatio, assertJitter, type RenewalTimeInput, renewalTime } from './renewal-time.js';
export { Rotator, type RotatorEvent, type RotatorOptions } from './rotator.js';
