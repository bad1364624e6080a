/**
 * `@certloop/vault-signer`: core's CertificateAuthority on HashiCorp Vault's PKI secrets engine, with token,
 * Kubernetes and AppRole auth and token renewal, built on node-vault.
 */
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
export { VaultCertificateAuthority } from './signer.js';
