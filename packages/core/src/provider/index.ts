export { CredentialProvider } from './credential-provider.js';
export { type TlsMaterial, type ValidateMaterialOptions, validateTlsSecret } from './material.js';
export {
  type CredentialProviderOptions,
  PROVIDER_DEFAULTS,
  type ProviderEvent,
  type ReadyPolicy,
} from './provider-options.js';
