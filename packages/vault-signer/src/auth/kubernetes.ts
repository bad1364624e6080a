/**
 * `@certloop/vault-signer` auth/kubernetes: logs in with the pod's service account JWT, read again from its file at
 * each login (the kubelet rotates projected tokens).
 */
import { readFile } from 'node:fs/promises';
import { CertloopError } from '@certloop/core';
import type { KubernetesAuth } from '../options.js';
import { type LoginFunction, loginResult } from './types.js';

export const DEFAULT_JWT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function kubernetesLogin(auth: KubernetesAuth): LoginFunction {
  const mount = auth.mount ?? 'kubernetes';
  const jwtPath = auth.jwtPath ?? DEFAULT_JWT_PATH;
  return async (client, signal) => {
    let jwt: string;
    try {
      jwt = (await readFile(jwtPath, 'utf8')).trim();
    } catch (err) {
      throw new CertloopError('CERTLOOP_UNAUTHENTICATED', 'the service account token file cannot be read', {
        details: { jwtPath, errorCode: (err as NodeJS.ErrnoException).code },
      });
    }
    if (!jwt) {
      throw new CertloopError('CERTLOOP_UNAUTHENTICATED', 'the service account token file is empty', {
        details: { jwtPath },
      });
    }
    return loginResult(await client.kubernetesLogin(mount, auth.role, jwt, signal));
  };
}
