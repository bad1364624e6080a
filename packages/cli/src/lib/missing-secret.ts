/**
 * `certloop` NOT_FOUND for a secret a command was asked to use (`rotate`, `inspect --secret`): what makes that
 * secret, as a command that works, rather than a generic pointer.
 */
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '@certloop/core';
import { roleOf } from '../status/roles.js';
import { cliError } from './errors.js';

export function missingSecretError(
  name: string,
  where: { readonly description: string; readonly storeArgs: string },
  names: RelaySecretNames = DEFAULT_RELAY_SECRET_NAMES,
) {
  const at = where.storeArgs ? ` ${where.storeArgs}` : '';
  const role = roleOf(name, names);
  const hint =
    role === 'client'
      ? `the agent makes ${name} in its own cluster when it first connects with the bootstrap token (certloop agent --server-address HOST:PORT${at}); nothing to rotate before that`
      : role
        ? `\`certloop init${at}\` creates it (only what is missing)`
        : `\`certloop status${at}\` lists the relay's secrets; a command takes a role (root, signing, server, client, token) or a secret name`;
  return cliError('CERTLOOP_NOT_FOUND', `the store (${where.description}) has no secret ${name}`, hint);
}
