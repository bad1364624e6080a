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
export {
  type CaCallOptions,
  type CertificateAuthority,
  type CertificateProfile,
  type Identity,
  isKeyIssuingAuthority,
  type KeyIssuingAuthority,
  type SignRequest,
  type SignResult,
} from './types.js';
