/**
 * `@certloop/vault-signer`: core's CertificateAuthority on HashiCorp Vault's PKI secrets engine, with token,
 * Kubernetes and AppRole auth and token renewal, built on node-vault.
 */

export {
  type CrossSignRequest,
  type GenerateIntermediateRequest,
  type GenerateRootRequest,
  type VaultIssuer,
  type VaultIssuerSummary,
  VaultPkiAdmin,
} from './admin.js';
export { DEFAULT_JWT_PATH } from './auth/kubernetes.js';
export { isInvalidTokenError, isTransient, vaultError } from './errors.js';
export type { VaultSignerEvent } from './events.js';
export type {
  AppRoleAuth,
  KubernetesAuth,
  TokenAuth,
  VaultAuth,
  VaultCertificateAuthorityOptions,
  VaultRetryOptions,
} from './options.js';
export {
  type BackendCallOptions,
  type CaHandle,
  type CaSlot,
  type CreateCaRequest,
  type CrossSignCaRequest,
  type InstallRequest,
  VaultCaRotationBackend,
  type VaultCaRotationBackendOptions,
} from './rotation-backend.js';
export type { VaultSessionOptions } from './session.js';
export { VaultCertificateAuthority } from './signer.js';
