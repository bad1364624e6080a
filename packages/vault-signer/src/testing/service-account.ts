/**
 * `@certloop/vault-signer/testing` service account tokens: a JWT shaped like the one the kubelet mounts into a pod
 * (`/var/run/secrets/kubernetes.io/serviceaccount/token`), and the emulator's default validator for it.
 *
 * A real Vault asks the Kubernetes TokenReview API whether the JWT is valid; the emulator takes a validator function
 * instead (contract section 6). The default one accepts unsigned tokens from {@link serviceAccountJwt} that are not
 * past their `exp` on the emulator's clock.
 */
import type { Clock } from '@certloop/core';
import type { ServiceAccountValidator } from './state.js';

export interface ServiceAccountJwtRequest {
  readonly namespace: string;
  readonly name: string;
  /** When the token expires (default: never). */
  readonly expiresAt?: Date;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A projected-service-account-token-shaped JWT (unsigned: `alg` none) naming `namespace/name`. */
export function serviceAccountJwt(request: ServiceAccountJwtRequest): string {
  const payload = {
    iss: 'https://kubernetes.default.svc.cluster.local',
    sub: `system:serviceaccount:${request.namespace}:${request.name}`,
    'kubernetes.io': { namespace: request.namespace, serviceaccount: { name: request.name } },
    ...(request.expiresAt ? { exp: Math.floor(request.expiresAt.getTime() / 1000) } : {}),
  };
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/** The default validator: reads `sub` as `system:serviceaccount:<ns>:<name>`, refusing expired tokens. */
export function defaultServiceAccountValidator(clock: Clock): ServiceAccountValidator {
  return (jwt) => {
    const [, payload] = jwt.split('.');
    if (!payload) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string; exp?: number };
      if (typeof claims.exp === 'number' && claims.exp * 1000 <= clock.now().getTime()) return undefined;
      const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? '');
      return match ? { namespace: match[1]!, name: match[2]! } : undefined;
    } catch {
      return undefined;
    }
  };
}
