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
