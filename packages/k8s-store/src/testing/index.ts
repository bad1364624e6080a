/**
 * `@certloop/k8s-store/testing`: a loopback Kubernetes API emulator for Secrets and Leases, with faults, that
 * `kubectl` and `@kubernetes/client-node` accept as a kube-apiserver.
 */
export type { AccessRule, EmulatorAuthOptions, TokenGrant } from './auth.js';
export { type CuttingProxy, type ProxiedRequest, startCuttingProxy } from './cutting-proxy.js';
export {
  type KubeConfigRequest,
  type KubernetesApiEmulator,
  type KubernetesApiEmulatorOptions,
  startKubernetesApiEmulator,
} from './emulator.js';
export type { EmulatorFaults, FailNextOptions, RequestInfo } from './faults.js';
