/**
 * `certloop` relay roles: the five secrets of the relay, by short role name, and the option that picks some. Every
 * command that names a secret takes its role or its name.
 */
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '@certloop/core';
import { cliError } from '../lib/errors.js';

export const RELAY_ROLES = ['root', 'signing', 'server', 'client', 'token'] as const;
export type RelayRole = (typeof RELAY_ROLES)[number];

/** The role of a relay secret name, if it is one. */
export function roleOf(name: string, names: RelaySecretNames = DEFAULT_RELAY_SECRET_NAMES): RelayRole | undefined {
  return RELAY_ROLES.find((role) => names[role] === name);
}

/** Other words people use for a role (`certloop rotate intermediate`). */
const ALIASES: Readonly<Record<string, RelayRole>> = { intermediate: 'signing', agent: 'client' };

/** The role a word names (`server`, `intermediate`), if any. */
export function roleNamed(word: string): RelayRole | undefined {
  return (RELAY_ROLES as readonly string[]).includes(word) ? (word as RelayRole) : ALIASES[word];
}

/**
 * The secret a command argument names: a role (`server`, `signing` or `intermediate`, `client`, `root`, `token`) is
 * the relay secret of that role; anything else is a secret name as given. So every command takes either.
 */
export function secretNamed(word: string, names: RelaySecretNames = DEFAULT_RELAY_SECRET_NAMES): string {
  const role = roleNamed(word);
  return role ? names[role] : word;
}

/** Roles from `--secrets root,server` (role names or secret names); every role when empty. */
export function parseRoles(values: readonly string[] | undefined, names = DEFAULT_RELAY_SECRET_NAMES): RelayRole[] {
  if (!values || values.length === 0) return [...RELAY_ROLES];
  const out: RelayRole[] = [];
  for (const value of values) {
    const role = roleNamed(value) ?? roleOf(value, names);
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
