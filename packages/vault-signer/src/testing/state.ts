/**
 * `@certloop/vault-signer/testing` internal: everything the emulator holds: mounts, issuers, keys, roles, auth
 * methods, tokens and the seal, all in memory.
 */
import type { X509Certificate } from 'node:crypto';
import type { Clock, LocalCertificateAuthority } from '@certloop/core';
import type { StoredPolicy } from './policies.js';
import type { PkiRole } from './roles.js';
import type { TokenStore } from './tokens.js';

export type LeafNotAfterBehavior = 'err' | 'truncate' | 'permit';

/** An issuer's usages, as Vault names them. */
export type IssuerUsage = 'read-only' | 'issuing-certificates' | 'crl-signing' | 'ocsp-signing';

/** A key kept in a mount (Vault 1.11+: keys are objects of their own, `{m}/keys`, `{m}/key/{ref}`). */
export interface PkiKey {
  readonly id: string;
  name: string;
  /** PKCS#8 PEM; never leaves the emulator unless generated with `exported`. */
  readonly privateKeyPem: string;
  readonly type: 'rsa' | 'ec' | 'ed25519';
  /** SubjectPublicKeyInfo DER, to match certificates to keys. */
  readonly spkiDer: Buffer;
}

export interface Issuer {
  /** A UUID. */
  readonly id: string;
  /** '' when unnamed; unique within the mount otherwise. */
  name: string;
  /** The issuer's certificate, PEM, trimmed. */
  readonly certificatePem: string;
  readonly x509: X509Certificate;
  /** Self-issued and self-signed: a root. */
  readonly selfSigned: boolean;
  /** The key that signs for this issuer, or undefined (a keyless issuer: e.g. an imported root). */
  keyId: string | undefined;
  readonly notAfter: Date;
  /** Ordering of creation, to list issuers and pick "latest" as Vault does. */
  readonly createdAt: number;
  leafNotAfterBehavior: LeafNotAfterBehavior;
  usage: Set<IssuerUsage>;
  /** Issuer ids set with `manual_chain` (first is self), or undefined for the chain Vault builds. */
  manualChain: string[] | undefined;
  /** Signers per backdate (role not_before_duration), built on first use. */
  readonly signers: Map<number, LocalCertificateAuthority>;
}

export interface PkiMount {
  readonly path: string;
  readonly defaultLeaseTtl: number;
  readonly maxLeaseTtl: number;
  readonly issuers: Map<string, Issuer>;
  readonly keys: Map<string, PkiKey>;
  defaultIssuer: string | undefined;
  defaultKey: string | undefined;
  defaultFollowsLatestIssuer: boolean;
  /** Each issuer's `ca_chain`, rebuilt when the issuers change. */
  readonly chains: Map<string, readonly string[]>;
  readonly roles: Map<string, PkiRole>;
}

export interface AppRoleRole {
  readonly name: string;
  readonly roleId: string;
  readonly tokenTtl: number;
  readonly tokenMaxTtl: number;
  readonly tokenPolicies: readonly string[];
  readonly secretIdTtl: number;
  /** secret_id to its expiry (epoch ms, undefined: none) and accessor. */
  readonly secretIds: Map<string, { readonly accessor: string; readonly expireAt: number | undefined }>;
}

export interface KubernetesRole {
  readonly name: string;
  readonly boundServiceAccountNames: readonly string[];
  readonly boundServiceAccountNamespaces: readonly string[];
  readonly tokenTtl: number;
  readonly tokenMaxTtl: number;
  readonly tokenPolicies: readonly string[];
}

export interface AuthMount {
  readonly path: string;
  readonly type: 'approle' | 'kubernetes';
  readonly approleRoles: Map<string, AppRoleRole>;
  readonly kubernetesRoles: Map<string, KubernetesRole>;
  kubernetesConfig: Record<string, unknown> | undefined;
}

/** What a Kubernetes service account JWT names, or undefined when the token is not valid. */
export type ServiceAccountValidator = (
  jwt: string,
) =>
  | { readonly name: string; readonly namespace: string }
  | undefined
  | Promise<{ readonly name: string; readonly namespace: string } | undefined>;

export interface EmulatorState {
  readonly clock: Clock;
  readonly tokens: TokenStore;
  readonly rootToken: string;
  readonly unsealKey: string;
  readonly version: string;
  /** Seconds: the system default and max lease TTL (768 h on a stock server). */
  readonly systemDefaultTtl: number;
  readonly systemMaxTtl: number;
  readonly mounts: Map<string, PkiMount>;
  readonly authMounts: Map<string, AuthMount>;
  readonly validateServiceAccount: ServiceAccountValidator;
  /** ACL policies by name (`default` included; `root` is implicit). */
  readonly policies: Map<string, StoredPolicy>;
  sealed: boolean;
}
