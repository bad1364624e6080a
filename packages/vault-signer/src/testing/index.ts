/**
 * `@certloop/vault-signer/testing`: a loopback Vault emulator (PKI secrets engine, token, AppRole and Kubernetes auth,
 * seal and health) that the real `node-vault` client works against unchanged, with fault injection, plus setup
 * helpers that are plain calls of Vault's API.
 */
export type { FaultMatch, FaultStatus, VaultFaults } from './faults.js';
export {
  type RequestRecord,
  startVaultEmulator,
  type VaultEmulator,
  type VaultEmulatorOptions,
} from './server.js';
export { defaultServiceAccountValidator, type ServiceAccountJwtRequest, serviceAccountJwt } from './service-account.js';
export {
  type SetupAuthRequest,
  type SetupPkiRequest,
  type SetupPkiResult,
  setupAppRole,
  setupKubernetesAuth,
  setupPki,
  signerPolicy,
  type VaultCallTarget,
  vaultCall,
} from './setup.js';
export type { ServiceAccountValidator } from './state.js';
