/**
 * `@certloop/core` CA rotation: replacing the root or the intermediate in phases, with overlapping trust bundles.
 */
export { trustBundleDigest } from './bundle-digest.js';
export type {
  BundleConsumerKind,
  BundleObservation,
  ConvergenceSource,
  RenewalRequest,
  RenewalRequester,
} from './consumers.js';
