/**
 * `@certloop/core/testing`: shared contract suites (vitest) that every SecretStore and Watcher adapter runs.
 */
export { describeSecretStoreContract, rejectionCode, type SecretStoreContractSubject } from './store-contract.js';
