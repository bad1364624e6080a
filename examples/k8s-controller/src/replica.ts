/**
 * examples/k8s-controller replica: one agent replica. Its own store (sharing one list-watch among its watches),
 * a Lease elector, the rotator of the agent's client certificate (acting only while leader), and a credential
 * provider that always holds the current certificate.
 */
import {
  CredentialProvider,
  type LocalCertificateAuthority,
  DEFAULT_RELAY_SECRET_NAMES as N,
  Rotator,
} from '@certloop/core';
import type { KubeConfigLike } from '@certloop/k8s-store';
import { KubernetesLeaseElector, KubernetesSecretStore } from '@certloop/k8s-store';

export interface ReplicaRequest {
  readonly id: string;
  readonly kubeConfig: KubeConfigLike;
  readonly namespace: string;
  readonly ca: LocalCertificateAuthority;
  readonly trustBundlePem: string;
  readonly lifetimeSeconds: number;
}

export function startReplica(request: ReplicaRequest) {
  const { id, kubeConfig, namespace } = request;
  const store = new KubernetesSecretStore({ kubeConfig, namespace });
  const elector = new KubernetesLeaseElector({
    kubeConfig,
    namespace,
    name: 'relay-agent-rotator',
    identity: id,
    leaseDurationMs: 6_000,
    renewDeadlineMs: 4_000,
    retryPeriodMs: 1_000,
  });
  const rotator = new Rotator({
    store,
    name: N.client,
    ca: request.ca,
    ratio: 0.5,
    jitter: 0,
    lifetimeSeconds: request.lifetimeSeconds,
    subject: { commonName: 'agent-1' },
    dnsNames: ['agent-1'],
    leader: elector,
    recheckIntervalMs: 1_000,
  });
  const provider = new CredentialProvider({
    name: N.client,
    watcher: store,
    usage: 'clientAuth',
    trustBundlePem: request.trustBundlePem,
  });
  elector.start();
  rotator.start();
  void provider.start();
  return {
    id,
    elector,
    rotator,
    provider,
    async stop() {
      await rotator.stop();
      await elector.stop();
      provider.close();
      await store.close();
    },
  };
}

export type Replica = ReturnType<typeof startReplica>;
