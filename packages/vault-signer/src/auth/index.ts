/**
 * `@certloop/vault-signer` auth: one login function per method.
 */
import type { VaultAuth } from '../options.js';
import { appRoleLogin } from './approle.js';
import { kubernetesLogin } from './kubernetes.js';
import { tokenLogin } from './token.js';
import type { LoginFunction } from './types.js';

export type { LoginFunction, LoginResult } from './types.js';

export function loginFor(auth: VaultAuth): LoginFunction {
  switch (auth.method) {
    case 'token':
      return tokenLogin(auth);
    case 'kubernetes':
      return kubernetesLogin(auth);
    case 'approle':
      return appRoleLogin(auth);
  }
}
