/**
 * `@certloop/vault-signer` options: where Vault is, how to log in, which PKI mount, role and issuer sign.
 */
import type { Clock } from '@certloop/core';
import type { VaultSignerEvent } from './events.js';

/** A Vault token given as it is (renewed when renewable; never re-obtained). */
export interface TokenAuth {
  readonly method: 'token';
  readonly token: string;
}

/** Kubernetes auth: the pod's service account JWT, re-read from `jwtPath` at each login. */
export interface KubernetesAuth {
  readonly method: 'kubernetes';
  /** The Vault role bound to the service account. */
  readonly role: string;
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount/token`. */
  readonly jwtPath?: string;
  /** Auth mount path (default `kubernetes`). */
  readonly mount?: string;
}

/** AppRole auth. */
export interface AppRoleAuth {
  readonly method: 'approle';
  readonly roleId: string;
  readonly secretId: string;
  /** Auth mount path (default `approle`). */
  readonly mount?: string;
}

export type VaultAuth = TokenAuth | KubernetesAuth | AppRoleAuth;

export interface VaultRetryOptions {
  /** Attempts per call, the first included (default 4). */
  readonly attempts?: number;
  /** First backoff delay in ms (default 250), doubling, jittered. */
  readonly initialMs?: number;
  /** Largest backoff delay in ms (default 5000). */
  readonly maxMs?: number;
}

/**
 * How to reach and log in to Vault: what every certloop Vault client takes (the signer, and the administrative
 * helpers `VaultPkiAdmin` and `VaultCaRotationBackend`).
 */
export interface VaultSessionOptions {
  /** Vault's address, e.g. `https://vault.example:8200` (what VAULT_ADDR holds). */
  readonly endpoint: string;
  readonly auth: VaultAuth;
  /** Vault Enterprise namespace (`X-Vault-Namespace`). */
  readonly namespace?: string;
  /** Per-request timeout in ms (default 10,000). */
  readonly requestTimeoutMs?: number;
  readonly retry?: VaultRetryOptions;
  /** Share of a token's TTL after which it is renewed (default 0.8), jittered earlier by up to 10 %. */
  readonly renewFraction?: number;
  /** TLS and agent options passed to node-vault's `requestOptions` (`ca`, `cert`, `key`, `strictSSL`…). */
  readonly requestOptions?: Readonly<Record<string, unknown>>;
  /**
   * node-vault's HTTP layer: `certloop` (default), a lean one on `node:http(s)` with the same agents and TLS options,
   * which writes (`sign`, `issue`) reach directly, built and judged as node-vault's `write` would; `node-vault`, its
   * own (axios) for every call, e.g. to honour `HTTP(S)_PROXY` variables.
   */
  readonly httpLayer?: 'certloop' | 'node-vault';
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Receives warnings, logins, renewals and retries (never a token or secret). */
  readonly onEvent?: (event: VaultSignerEvent) => void;
}

export interface VaultCertificateAuthorityOptions extends VaultSessionOptions {
  /** The PKI secrets engine's mount path, e.g. `pki_int`. */
  readonly mount: string;
  /** The PKI role that signs. */
  readonly role: string;
  /** An issuer reference (id or name); default: the mount's default issuer. */
  readonly issuer?: string;
  /**
   * The roots relying parties trust. Default: read from Vault (the issuer's chain, self-signed certificates kept)
   * and cached until an issued chain names an issuer the cache does not know.
   */
  readonly trustBundlePem?: string;
  /** Keep self-signed roots in `chainPem` (default false: the chain stops below the root). */
  readonly includeRootInChain?: boolean;
  /**
   * Send the CSR's names as `common_name`/`alt_names`/`ip_sans`/`uri_sans` too (for roles with
   * `use_csr_common_name` or `use_csr_sans` false). Default false: Vault takes them from the CSR.
   */
  readonly sendCsrNames?: boolean;
}
