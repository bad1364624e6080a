export {
  authorityFromSecret,
  type BootstrapRelayOptions,
  type BootstrapRelayResult,
  bootstrapRelayPki,
} from './bootstrap.js';
export {
  ANNOTATIONS,
  DEFAULT_RELAY_NAMESPACE,
  DEFAULT_RELAY_SECRET_NAMES,
  isManagedSecret,
  issuedTlsSecret,
  MANAGED_BY_VALUE,
  managedAnnotations,
  type RelaySecretNames,
  readTlsMaterial,
  SECRET_KEYS,
  type SecretRole,
  type TlsSecretMaterial,
  tlsSecretData,
} from './layout.js';
