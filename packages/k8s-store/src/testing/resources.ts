/**
 * `@certloop/k8s-store/testing` resources: the two kinds the emulator serves (Secrets and Leases) and their names.
 */

export interface ResourceKind {
  /** API group, `''` for the core group. */
  readonly group: string;
  readonly version: string;
  /** `v1` or `coordination.k8s.io/v1`. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly listKind: string;
  /** The plural resource name, as in paths and Status details (`secrets`). */
  readonly plural: string;
  /** How messages name the resource: `secrets`, `leases.coordination.k8s.io`. */
  readonly qualified: string;
  readonly shortNames?: readonly string[];
}

export const SECRETS: ResourceKind = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  qualified: 'secrets',
};

export const LEASES: ResourceKind = {
  group: 'coordination.k8s.io',
  version: 'v1',
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  listKind: 'LeaseList',
  plural: 'leases',
  qualified: 'leases.coordination.k8s.io',
};

export const RESOURCES: readonly ResourceKind[] = [SECRETS, LEASES];

/** A stored object as JSON: `metadata` always present, the rest per kind. */
export type KubeObject = Record<string, unknown> & { metadata: ObjectMeta };

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}
