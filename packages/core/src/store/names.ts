/**
 * `@certloop/core` secret name and input validation, shared by every SecretStore adapter so they all accept
 * and refuse the same things, before any I/O.
 *
 * Names follow Kubernetes' DNS-subdomain rule and data keys its ConfigMap/Secret key rule, so a secret that
 * one store accepts can be written to any other, a Kubernetes API server included.
 */
import { CertloopError } from '../errors.js';
import type { SecretInput } from './types.js';

/** The largest total size of a secret (data keys and values, labels, annotations, type), as Kubernetes: 1 MiB. */
export const MAX_SECRET_BYTES = 1024 * 1024;

const MAX_NAME_LENGTH = 253;
const MAX_KEY_LENGTH = 253;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/** True when `name` is a valid secret name (Kubernetes DNS subdomain). */
export function isValidSecretName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && DNS_SUBDOMAIN.test(name);
}

/**
 * Throws `CERTLOOP_INVALID_NAME` unless `name` is a DNS subdomain: 1..253 lower-case alphanumerics, `-` and `.`,
 * starting and ending alphanumeric, no empty label (so no `..`, `/` or other path tricks).
 */
export function assertSecretName(name: unknown): asserts name is string {
  if (!isValidSecretName(name)) {
    throw new CertloopError('CERTLOOP_INVALID_NAME', 'secret name must be a DNS subdomain (RFC 1123, <= 253 chars)', {
      details: { name: typeof name === 'string' ? name.slice(0, MAX_NAME_LENGTH + 1) : typeof name },
    });
  }
}

/** True when `key` is a valid data key. */
export function isValidDataKey(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key.length <= MAX_KEY_LENGTH &&
    DATA_KEY.test(key) &&
    key !== '.' &&
    !key.startsWith('..')
  );
}

/**
 * Throws `CERTLOOP_INVALID_NAME` unless `key` matches `[-._a-zA-Z0-9]+`, is at most 253 characters, and is not
 * `.` and does not start with `..` (names starting `..` are reserved for the on-disk layout, as in Kubernetes).
 */
export function assertDataKey(key: unknown): asserts key is string {
  if (!isValidDataKey(key)) {
    throw new CertloopError('CERTLOOP_INVALID_NAME', 'data key must match [-._a-zA-Z0-9]+ and not start with ".."', {
      details: { key: typeof key === 'string' ? key.slice(0, MAX_KEY_LENGTH + 1) : typeof key },
    });
  }
}

/** A validated secret input with defaults filled in; its maps are fresh null-free plain objects. */
export interface NormalizedSecretInput {
  readonly type: string;
  readonly data: Readonly<Record<string, Uint8Array>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * Validates a {@link SecretInput} and returns it normalized (type `Opaque` by default, empty maps). Bad keys
 * throw `CERTLOOP_INVALID_NAME`; malformed values `CERTLOOP_INVALID_ARGUMENT`; more than {@link MAX_SECRET_BYTES}
 * in total `CERTLOOP_INPUT_TOO_LARGE`. The data values are not copied: callers copy before keeping them.
 */
export function assertSecretInput(input: SecretInput): NormalizedSecretInput {
  if (!isPlainObject(input)) invalidArgument('secret must be an object');
  const type = input.type ?? 'Opaque';
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_NAME_LENGTH) {
    invalidArgument('secret type must be a non-empty string of at most 253 characters');
  }
  if (!isPlainObject(input.data)) invalidArgument('secret data must be an object of Uint8Array values');
  let total = type.length;
  const data: [string, Uint8Array][] = [];
  for (const [key, value] of Object.entries(input.data)) {
    assertDataKey(key);
    if (!(value instanceof Uint8Array)) invalidArgument('secret data values must be Uint8Array', { key });
    total += key.length + value.byteLength;
    data.push([key, value]);
  }
  const labels = assertStringMap(input.labels, 'labels');
  const annotations = assertStringMap(input.annotations, 'annotations');
  for (const map of [labels, annotations]) {
    for (const [key, value] of Object.entries(map)) total += key.length + value.length;
  }
  if (total > MAX_SECRET_BYTES) {
    throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', 'secret exceeds the 1 MiB size limit', {
      details: { size: total, limit: MAX_SECRET_BYTES },
    });
  }
  return { type, data: Object.fromEntries(data), labels, annotations };
}

function assertStringMap(map: unknown, field: string): Record<string, string> {
  if (map === undefined) return {};
  if (!isPlainObject(map)) invalidArgument(`secret ${field} must be an object of strings`);
  const entries = Object.entries(map);
  for (const [key, value] of entries) {
    if (key.length === 0 || typeof value !== 'string') {
      invalidArgument(`secret ${field} must map non-empty keys to strings`, { key });
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function invalidArgument(message: string, details?: Record<string, unknown>): never {
  throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', message, { details });
}
