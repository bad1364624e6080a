/**
 * `@certloop/core` CA rotation: replacing the root or the intermediate in phases, with overlapping trust bundles.
 */
export { trustBundleDigest } from './bundle-digest.js';
export { ByoRootFollower, type ByoRootFollowerOptions, type ByoRootSync } from './byo-root.js';
export { CaRotation } from './ca-rotation.js';
export { CaRotator, type CaRotatorEvent, type CaRotatorStep } from './ca-rotator.js';
export type {
  BundleConsumerKind,
  BundleObservation,
  ConvergenceSource,
  RenewalRequest,
  RenewalRequester,
} from './consumers.js';
export { ago, type ConvergenceInput, convergenceFigures } from './convergence.js';
export {
  type CaRotationOptions,
  type CaRotatorOptions,
  DEFAULT_CA_ROTATION_SECRET,
  type ExpectedConsumer,
} from './options.js';
export {
  RECORD_KEYS as CA_ROTATION_RECORD_KEYS,
  type RecordsSnapshot as CaRotationRecords,
  readRecords as readCaRotationRecords,
} from './record.js';
export {
  afterBundle,
  duringBundle,
  isUnderWay,
  newSigningKeyId,
  oldSigningKeyId,
  unionBundle,
} from './record-model.js';
export {
  type AuthorityBackend,
  isAuthorityBackend,
  StoreCaKeyBackend,
  type StoreCaKeyBackendOptions,
} from './store-backend.js';
export { StoreTrustBundlePublisher, type StoreTrustBundlePublisherOptions } from './store-publisher.js';
export { holdsTrustBundle, type TrustBundleBackend } from './trust-bundle-backend.js';
export {
  ACTIVE_ROTATION_PHASES,
  type BackendCallOptions,
  type CaCertificateInfo,
  type CaHandle,
  type CaKeyBackend,
  type CaKeySource,
  type CaKind,
  type CaRotationEvent,
  type CaRotationPhase,
  type CaRotationRecord,
  type CaRotationRefusal,
  type CaRotationSettings,
  type CaRotationStatus,
  type CaSlot,
  type CaStepOptions,
  type ConvergenceFigures,
  type CreateCaRequest,
  type CrossSignRequest,
  type DrainFigures,
  type DwellTimes,
  type ForcedStep,
  type ForceOptions,
  type InstallRequest,
  type IssuanceLedger,
  type IssuedLeaf,
  type PrepareOptions,
  type TrustBundlePublisher,
  type WaitingConsumer,
} from './types.js';
