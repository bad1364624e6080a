/**
 * `@certloop/core` TLS secret layout: the data keys, certloop's annotations, and managed versus bring-your-own.
 *
 * Shared by every store, the rotator, the provider, the monitor and the relay. A secret certloop manages carries
 * `certloop.io/managed-by: certloop`. A secret without it, or with any `cert-manager.io/*` annotation, is
 * bring-your-own: read, watched, validated, monitored, never written.
 */
import type { SignResult } from '../ca/types.js';
import { joinPemBundle } from '../x509/pem.js';
import type { Secret, SecretInput } from './types.js';

/** Data keys, in every store (the layout of a Kubernetes TLS Secret). */
export const SECRET_KEYS = {
  certificate: 'tls.crt',
  privateKey: 'tls.key',
  trustBundle: 'ca.crt',
  token: 'token',
} as const;

export const ANNOTATIONS = {
  managedBy: 'certloop.io/managed-by',
  role: 'certloop.io/role',
  serial: 'certloop.io/serial',
  notAfter: 'certloop.io/not-after',
  renewAt: 'certloop.io/renew-at',
} as const;

export const MANAGED_BY_VALUE = 'certloop';

export type SecretRole = 'root' | 'intermediate' | 'server' | 'client' | 'token';

/** The annotation prefix cert-manager writes on the Secrets it issues (`cert-manager.io/certificate-name`, ...). */
export const CERT_MANAGER_ANNOTATION_PREFIX = 'cert-manager.io/';

/** Who owns a secret's lifecycle: certloop (`managed`) or someone else (`bring-your-own`: cert-manager, a person). */
export type SecretOwnership = 'managed' | 'bring-your-own';

/** True when the secret carries any `cert-manager.io/*` annotation. */
export function isCertManagerSecret(secret: Pick<Secret, 'annotations'>): boolean {
  return Object.keys(secret.annotations).some((k) => k.startsWith(CERT_MANAGER_ANNOTATION_PREFIX));
}

/** `managed` when certloop may write the secret: it carries certloop's annotation and no cert-manager annotation. */
export function secretOwnership(secret: Pick<Secret, 'annotations'>): SecretOwnership {
  if (isCertManagerSecret(secret)) return 'bring-your-own';
  return secret.annotations[ANNOTATIONS.managedBy] === MANAGED_BY_VALUE ? 'managed' : 'bring-your-own';
}

/** True when certloop may write this secret: it carries certloop's annotation and no cert-manager annotation. */
export function isManagedSecret(secret: Pick<Secret, 'annotations'>): boolean {
  return secretOwnership(secret) === 'managed';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** TLS material as text, read from a secret's `tls.crt`, `tls.key` and `ca.crt`. */
export interface TlsSecretMaterial {
  readonly certificatePem: string | undefined;
  readonly privateKeyPem: string | undefined;
  readonly trustBundlePem: string | undefined;
}

export function readTlsMaterial(secret: Pick<Secret, 'data'>): TlsSecretMaterial {
  const text = (key: string) => {
    const value = secret.data[key];
    return value && value.length > 0 ? decoder.decode(value) : undefined;
  };
  return {
    certificatePem: text(SECRET_KEYS.certificate),
    privateKeyPem: text(SECRET_KEYS.privateKey),
    trustBundlePem: text(SECRET_KEYS.trustBundle),
  };
}

/** The data map of a TLS secret: leaf then chain in `tls.crt`, PKCS#8 in `tls.key`, roots in `ca.crt`. */
export function tlsSecretData(material: {
  certificatePem: string;
  /** Absent for a CA whose key is held elsewhere (a PKCS#11 token): the secret then has no `tls.key`. */
  privateKeyPem?: string | undefined;
  trustBundlePem?: string;
}): Record<string, Uint8Array> {
  const data: Record<string, Uint8Array> = { [SECRET_KEYS.certificate]: encoder.encode(material.certificatePem) };
  if (material.privateKeyPem !== undefined) data[SECRET_KEYS.privateKey] = encoder.encode(material.privateKeyPem);
  if (material.trustBundlePem) data[SECRET_KEYS.trustBundle] = encoder.encode(material.trustBundlePem);
  return data;
}

/** certloop's annotations for a secret it issued. */
export function managedAnnotations(input: {
  role: SecretRole;
  serialNumber?: string;
  notAfter?: Date;
  renewAt?: Date;
}): Record<string, string> {
  const out: Record<string, string> = { [ANNOTATIONS.managedBy]: MANAGED_BY_VALUE, [ANNOTATIONS.role]: input.role };
  if (input.serialNumber) out[ANNOTATIONS.serial] = input.serialNumber;
  if (input.notAfter) out[ANNOTATIONS.notAfter] = input.notAfter.toISOString();
  if (input.renewAt) out[ANNOTATIONS.renewAt] = input.renewAt.toISOString();
  return out;
}

/**
 * The TLS secret for a certificate a CA just issued: leaf then chain in `tls.crt`, the key, the CA's trust bundle
 * in `ca.crt`, and certloop's annotations for `role`.
 */
export function issuedTlsSecret(input: {
  role: SecretRole;
  /** Absent for a CA whose key is held elsewhere (see {@link tlsSecretData}). */
  privateKeyPem?: string | undefined;
  result: Pick<SignResult, 'certificatePem' | 'chainPem' | 'trustBundlePem' | 'serialNumber' | 'notAfter'>;
}): SecretInput {
  const { result } = input;
  return {
    type: 'kubernetes.io/tls',
    data: tlsSecretData({
      certificatePem: joinPemBundle([result.certificatePem, result.chainPem]),
      privateKeyPem: input.privateKeyPem,
      trustBundlePem: result.trustBundlePem,
    }),
    annotations: managedAnnotations({ role: input.role, serialNumber: result.serialNumber, notAfter: result.notAfter }),
  };
}
