/**
 * `@certloop/k8s-store` KubernetesLeaseLock: core's `LeaseLock` on a `coordination.k8s.io/v1` Lease (client-go's
 * `resourcelock.LeaseLock`): GET; POST to create; PUT of the whole cached object with its resourceVersion to
 * update, so concurrent writers get 409 (`CERTLOOP_CONFLICT`). Times are MicroTime with exactly six fractional
 * digits. No retries inside: the elector's rounds are the retries, and its deadlines must hold.
 */
import type { LeaseLock, LeaseLockCallOptions, LeaseRecord, LeaseUpdate, VersionedLeaseRecord } from '@certloop/core';
import { CertloopError, formatMicroTime, isCertloopError, parseMicroTime, throwIfAborted } from '@certloop/core/base';
import type { KubeOperation } from './errors.js';
import { KubeClient } from './kube-client.js';
import type { KubeConfigLike } from './kubeconfig.js';

export interface KubernetesLeaseLockOptions {
  readonly kubeConfig: KubeConfigLike;
  readonly namespace: string;
  /** The Lease's name, shared by every candidate. */
  readonly name: string;
  /** Per-request timeout (default 10 s; keep it below the renew deadline). */
  readonly requestTimeoutMs?: number;
}

interface KubeLease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class KubernetesLeaseLock implements LeaseLock {
  readonly namespace: string;
  readonly name: string;
  readonly #client: KubeClient;
  /** The last object read or written, so an update PUTs the whole object (labels and annotations kept). */
  #cached: KubeLease | undefined;

  constructor(options: KubernetesLeaseLockOptions) {
    for (const [field, value] of [
      ['namespace', options?.namespace],
      ['name', options?.name],
    ] as const) {
      if (typeof value !== 'string' || value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
        throw new CertloopError('CERTLOOP_INVALID_CONFIG', `lease ${field} must be a DNS subdomain`, {
          details: { [field]: value },
        });
      }
    }
    this.namespace = options.namespace;
    this.name = options.name;
    this.#client = new KubeClient(options.kubeConfig, { requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
  }

  describe(): string {
    return `leases/${this.namespace}/${this.name}`;
  }

  #path(withName: boolean): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
    return withName ? `${base}/${encodeURIComponent(this.name)}` : base;
  }

  #op(verb: string): KubeOperation {
    return { verb, resource: 'leases.coordination.k8s.io', namespace: this.namespace, name: this.name };
  }

  async get(options: LeaseLockCallOptions = {}): Promise<VersionedLeaseRecord | undefined> {
    throwIfAborted(options.signal);
    try {
      const { body } = await this.#client.request<KubeLease>({
        method: 'GET',
        path: this.#path(true),
        signal: options.signal,
        op: this.#op('get'),
      });
      this.#cached = body;
      return { record: fromSpec(body), version: body.metadata.resourceVersion ?? '' };
    } catch (err) {
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) {
        this.#cached = undefined;
        return undefined;
      }
      throw err;
    }
  }

  async create(record: LeaseRecord, options: LeaseLockCallOptions = {}): Promise<{ version: string }> {
    throwIfAborted(options.signal);
    const body: KubeLease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: toSpec(record),
    };
    const { body: stored } = await this.#client.request<KubeLease>({
      method: 'POST',
      path: this.#path(false),
      body,
      signal: options.signal,
      op: this.#op('create'),
    });
    this.#cached = stored;
    return { version: stored.metadata.resourceVersion ?? '' };
  }

  async update(
    { record, expectedVersion }: LeaseUpdate,
    options: LeaseLockCallOptions = {},
  ): Promise<{ version: string }> {
    throwIfAborted(options.signal);
    const cached = this.#cached?.metadata.resourceVersion === expectedVersion ? this.#cached : undefined;
    const body: KubeLease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(cached?.metadata ?? { name: this.name, namespace: this.namespace }),
        resourceVersion: expectedVersion,
      },
      spec: toSpec(record),
    };
    try {
      const { body: stored } = await this.#client.request<KubeLease>({
        method: 'PUT',
        path: this.#path(true),
        body,
        signal: options.signal,
        op: this.#op('update'),
      });
      this.#cached = stored;
      return { version: stored.metadata.resourceVersion ?? '' };
    } catch (err) {
      // A PUT to a missing Lease creates it on a real server only without a resourceVersion; ours always has one.
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) {
        throw new CertloopError('CERTLOOP_CONFLICT', `${this.describe()}: the lease does not exist`, { cause: err });
      }
      throw err;
    }
  }

  /** Frees keep-alive connections. */
  close(): void {
    this.#client.close();
  }
}

function toSpec(record: LeaseRecord): NonNullable<KubeLease['spec']> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime && { acquireTime: formatMicroTime(record.acquireTime) }),
    ...(record.renewTime && { renewTime: formatMicroTime(record.renewTime) }),
    leaseTransitions: record.leaseTransitions,
  };
}

function fromSpec(lease: KubeLease): LeaseRecord {
  const spec = lease.spec ?? {};
  try {
    return {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      ...(spec.acquireTime && { acquireTime: parseMicroTime(spec.acquireTime) }),
      ...(spec.renewTime && { renewTime: parseMicroTime(spec.renewTime) }),
      leaseTransitions: spec.leaseTransitions ?? 0,
    };
  } catch (err) {
    throw new CertloopError('CERTLOOP_STORE_CORRUPT', `lease ${lease.metadata.name}: unreadable spec`, { cause: err });
  }
}
