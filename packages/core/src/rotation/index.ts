export { assertGraceRatio, assertJitter, type RenewalTimeInput, renewalTime } from './renewal-time.js';
