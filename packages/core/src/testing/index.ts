/**
 * `@certloop/core/testing`: shared contract suites (vitest) that every SecretStore and Watcher adapter runs.
 */

export { createTestPki, type TestLeaf, type TestLeafRequest, type TestPki, type TestPkiOptions } from './pki.js';
export { describeSecretStoreContract, rejectionCode, type SecretStoreContractSubject } from './store-contract.js';
export {
  describeWatcherContract,
  type WatcherContractOptions,
  type WatcherContractSubject,
} from './watcher-contract.js';
