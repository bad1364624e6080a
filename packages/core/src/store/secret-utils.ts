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

/**
 * A copy of an immutable stored snapshot whose byte arrays are copied only when `data` is first read. For
 * results most callers do not read (`put` answers are mostly used for their version), this saves a copy of every
 * value; the snapshot must never be mutated in place (stores replace snapshots, they do not edit them).
 */
export function copySecretLazily(snapshot: Secret): Secret {
  let data: Record<string, Uint8Array> | undefined;
  return {
    name: snapshot.name,
    type: snapshot.type,
    get data() {
      data ??= copyData(snapshot.data);
      return data;
    },
    labels: { ...snapshot.labels },
    annotations: { ...snapshot.annotations },
    version: snapshot.version,
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
  // One allocation per copy, viewed per key: 10,000 watched secrets churn far fewer small buffers (and less RSS).
  const entries = Object.entries(data);
  let size = 0;
  for (const [, value] of entries) size += value.byteLength;
  const block = new Uint8Array(size);
  let offset = 0;
  // fromEntries defines own properties, so a key such as `__proto__` stays plain data
  return Object.fromEntries(
    entries.map(([key, value]) => {
      block.set(value, offset);
      const view = block.subarray(offset, offset + value.byteLength);
      offset += value.byteLength;
      return [key, view];
    }),
  );
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
