/**
 * `@certloop/core/testing`: shared contract suites (vitest) that every SecretStore, Watcher and CertificateAuthority
 * adapter runs.
 */

export {
  type CertificateAuthorityContractSubject,
  describeCertificateAuthorityContract,
} from './ca-contract.js';
export { createTestPki, type TestLeaf, type TestLeafRequest, type TestPki, type TestPkiOptions } from './pki.js';
export { describeSecretStoreContract, rejectionCode, type SecretStoreContractSubject } from './store-contract.js';
export {
  describeWatcherContract,
  type WatcherContractOptions,
  type WatcherContractSubject,
} from './watcher-contract.js';
