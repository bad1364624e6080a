export { checkIdentityBinding } from './identity-binding.js';
export {
  LocalCertificateAuthority,
  type LocalCertificateAuthorityOptions,
  type LocalIssueRequest,
} from './local-ca.js';
export {
  DEFAULT_ISSUANCE_POLICY,
  type IssuancePolicy,
  type IssuancePolicyInput,
  type PolicyKeyType,
  resolveIssuancePolicy,
} from './policy.js';
export { REVOCATION_KEYS, type RevocationStoreOptions } from './revocation.js';
export {
  type CaCallOptions,
  type CertificateAuthority,
  type CertificateProfile,
  type Identity,
  isKeyIssuingAuthority,
  isRevokingAuthority,
  type KeyIssuingAuthority,
  type PublishedCrl,
  type RevocationReason,
  type RevokeRequest,
  type RevokeResult,
  type RevokingAuthority,
  type SignRequest,
  type SignResult,
} from './types.js';
