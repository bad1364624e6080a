export {
  authorityFromSecret,
  type BootstrapRelayOptions,
  type BootstrapRelayResult,
  bootstrapRelayPki,
  type RelayCaKeyRole,
  type RelayCaKeys,
} from './bootstrap.js';
export { DEFAULT_RELAY_NAMESPACE, DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from './layout.js';
