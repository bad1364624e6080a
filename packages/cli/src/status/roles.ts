/**
 * `certloop` relay roles: the five secrets of the relay, by short role name, and the option that picks some.
 */
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '@certloop/core';
import { cliError } from '../lib/errors.js';

export const RELAY_ROLES = ['root', 'signing', 'server', 'client', 'token'] as const;
export type RelayRole = (typeof RELAY_ROLES)[number];

/** The role of a relay secret name, if it is one. */
export function roleOf(name: string, names: RelaySecretNames = DEFAULT_RELAY_SECRET_NAMES): RelayRole | undefined {
  return RELAY_ROLES.find((role) => names[role] === name);
}

/** Roles from `--secrets root,server` (role names or secret names); every role when empty. */
export function parseRoles(values: readonly string[] | undefined, names = DEFAULT_RELAY_SECRET_NAMES): RelayRole[] {
  if (!values || values.length === 0) return [...RELAY_ROLES];
  const out: RelayRole[] = [];
  for (const value of values) {
    const role = (RELAY_ROLES as readonly string[]).includes(value) ? (value as RelayRole) : roleOf(value, names);
    if (!role) {
      throw cliError(
        'CERTLOOP_USAGE',
        `--secrets ${JSON.stringify(value)} is not a relay secret`,
        `use ${RELAY_ROLES.join(', ')}`,
      );
    }
    if (!out.includes(role)) out.push(role);
  }
  return out;
}
