/**
 * `@certloop/k8s-store`: certloop on the Kubernetes API. Secrets as a `SecretStore` and an informer-grade
 * `Watcher`, `coordination.k8s.io/v1` Leases as a `LeaseLock` for client-go's leader election, and the kubeconfig
 * loading a user expects. The API emulator is `@certloop/k8s-store/testing`.
 */

export type { KubeConfig } from '@kubernetes/client-node';
export { isRetryable, type KubeOperation } from './errors.js';
export {
  contextNamespace,
  type KubeConfigLike,
  LoadedKubeConfig,
  type LoadKubeConfigOptions,
  loadKubeConfig,
} from './kubeconfig.js';
export { KubernetesLeaseElector, type KubernetesLeaseElectorOptions } from './lease-elector.js';
export { KubernetesLeaseLock, type KubernetesLeaseLockOptions } from './lease-lock.js';
export type { ReflectorTimings } from './reflector.js';
export type { RetryOptions } from './retry.js';
export { TLS_SECRET_TYPE, WRITE_ID_ANNOTATION } from './secret-mapping.js';
export { KubernetesSecretStore, type KubernetesSecretStoreOptions } from './secret-store.js';
