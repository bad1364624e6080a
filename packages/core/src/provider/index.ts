export {
  CredentialProvider,
  type CredentialProviderOptions,
  type ProviderEvent,
} from './credential-provider.js';
export { type TlsMaterial, type ValidateMaterialOptions, validateTlsSecret } from './material.js';
