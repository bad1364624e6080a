/**
 * `@certloop/k8s-store`: certloop on the Kubernetes API.
 */
export {};
