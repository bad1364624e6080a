export {
  ANNOTATIONS,
  CERT_MANAGER_ANNOTATION_PREFIX,
  isCertManagerSecret,
  isManagedSecret,
  issuedTlsSecret,
  MANAGED_BY_VALUE,
  managedAnnotations,
  readTlsMaterial,
  SECRET_KEYS,
  type SecretOwnership,
  type SecretRole,
  secretOwnership,
  type TlsSecretMaterial,
  tlsSecretData,
} from './tls-layout.js';
export type { Secret, SecretInput } from './types.js';
