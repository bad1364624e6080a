/**
 * `@certloop/core` relay secret names: Gloo Mesh's relay secrets and their namespace.
 *
 * The generic TLS layout (keys, annotations, managed versus bring-your-own) lives in `../secret/`.
 */

/** The relay's secret names (Gloo Mesh's), configurable per deployment. */
export interface RelaySecretNames {
  readonly root: string;
  readonly signing: string;
  readonly server: string;
  readonly client: string;
  readonly token: string;
}

export const DEFAULT_RELAY_SECRET_NAMES: RelaySecretNames = {
  root: 'relay-root-tls-secret',
  signing: 'relay-tls-signing-secret',
  server: 'relay-server-tls-secret',
  client: 'relay-client-tls-secret',
  token: 'relay-identity-token-secret',
};

/** The Kubernetes namespace the relay's secrets live in by default. */
export const DEFAULT_RELAY_NAMESPACE = 'gloo-mesh';
