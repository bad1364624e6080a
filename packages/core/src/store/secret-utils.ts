/**
 * Internal: building, copying and filtering secrets, shared by the stores. Stores hand out copies so that a
 * caller mutating a returned secret never changes what is stored.
 */
import { CertloopError } from '../errors.js';
import type { NormalizedSecretInput } from './names.js';
import type { Secret } from './types.js';

/** A deep copy of `secret` (fresh byte arrays and maps). */
export function copySecret(secret: Secret): Secret {
  return {
    name: secret.name,
    type: secret.type,
    data: copyData(secret.data),
    labels: { ...secret.labels },
    annotations: { ...secret.annotations },
    version: secret.version,
  };
}

/** A stored secret from validated input, with its data copied. */
export function secretFromInput(name: string, input: NormalizedSecretInput, version: string): Secret {
  return {
    name,
    type: input.type,
    data: copyData(input.data),
    labels: { ...input.labels },
    annotations: { ...input.annotations },
    version,
  };
}

/** True when `labels` carries every label of `selector` with the same value. */
export function matchesLabelSelector(
  labels: Readonly<Record<string, string>>,
  selector: Readonly<Record<string, string>> | undefined,
): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}

/** Sorts secrets by name in code-unit order (stable across locales). */
export function sortByName(secrets: Secret[]): Secret[] {
  return secrets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function copyData(data: Readonly<Record<string, Uint8Array>>): Record<string, Uint8Array> {
  // fromEntries defines own properties, so a key such as `__proto__` stays plain data
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, new Uint8Array(value)]));
}

/** Throws `CERTLOOP_CONFLICT` unless the stored state satisfies the compare-and-swap precondition. */
export function checkExpectedVersion(
  name: string,
  current: Pick<Secret, 'version'> | undefined,
  expected: string | null | undefined,
): void {
  if (expected === undefined) return;
  const actual = current?.version ?? null;
  if (actual !== expected) {
    throw new CertloopError('CERTLOOP_CONFLICT', `secret ${name} changed: version precondition failed`, {
      details: { name, expectedVersion: expected, actualVersion: actual },
    });
  }
}
