/**
 * `@certloop/vault-signer/testing` internal: everything the emulator holds: mounts, issuers, keys, roles, auth
 * methods, tokens and the seal, all in memory.
 */
import type { Clock, LocalCertificateAuthority } from '@certloop/core';
import type { PkiRole } from './roles.js';
import type { TokenStore } from './tokens.js';

export type LeafNotAfterBehavior = 'err' | 'truncate' | 'permit';

export interface Issuer {
  readonly id: string;
  name: string;
  /** The issuer's certificate, PEM, trimmed. */
  readonly certificatePem: string;
  /** This issuer then its parents, PEM each, trimmed. */
  readonly chain: readonly string[];
  readonly keyId: string | undefined;
  readonly notAfter: Date;
  leafNotAfterBehavior: LeafNotAfterBehavior;
  /** Signers per backdate (role not_before_duration), built on first use. */
  readonly signers: Map<number, LocalCertificateAuthority>;
}

export interface PkiMount {
  readonly path: string;
  readonly defaultLeaseTtl: number;
  readonly maxLeaseTtl: number;
  readonly issuers: Map<string, Issuer>;
  /** key_id to PKCS#8 PEM. */
  readonly keys: Map<string, string>;
  defaultIssuer: string | undefined;
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
  sealed: boolean;
}
