/**
 * `@certloop/vault-signer` auth/approle: logs in with a role ID and secret ID (`auth/{mount}/login`).
 */
import type { AppRoleAuth } from '../options.js';
import { type LoginFunction, loginResult } from './types.js';

export function appRoleLogin(auth: AppRoleAuth): LoginFunction {
  const mount = auth.mount ?? 'approle';
  return async (client, signal) => loginResult(await client.approleLogin(mount, auth.roleId, auth.secretId, signal));
}
