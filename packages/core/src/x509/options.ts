/**
 * Internal (`@certloop/core` x509 and ca): checks of option types at the public entry points, so that a wrong
 * type is a `CertloopError` (`CERTLOOP_INVALID_ARGUMENT`) naming the option, never a `TypeError` from deep inside.
 */
import type { Clock } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import type { CryptoEngine } from './crypto-engine.js';

function wrongType(what: string, expected: string, value: unknown): never {
  throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', `${what} must be ${expected}`, {
    details: { option: what, type: value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value },
  });
}

/** A request or options object (not null, not an array). */
export function requireObject(value: unknown, what: string): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) wrongType(what, 'an object', value);
}

/** An optional object option. */
export function optionalObject(value: unknown, what: string): void {
  if (value !== undefined) requireObject(value, what);
}

/** An optional string option. */
export function optionalString(value: unknown, what: string): string | undefined {
  if (value !== undefined && typeof value !== 'string') wrongType(what, 'a string', value);
  return value;
}

/** An optional array of strings. */
export function optionalStringArray(value: unknown, what: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) wrongType(what, 'an array of strings', value);
  return value;
}

/** Bytes (a Uint8Array, Buffers included). */
export function requireBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) wrongType(what, 'a Uint8Array', value);
}

/** An optional {@link Clock}: an object with a `now()` method. */
export function optionalClock(value: unknown, what = 'clock'): Clock | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as Clock).now !== 'function') {
    wrongType(what, 'a Clock (an object with now())', value);
  }
  return value as Clock;
}

const ENGINE_METHODS = ['generateKeyPair', 'importPrivateKey', 'importPublicKey', 'sign', 'verify'] as const;

/** An optional {@link CryptoEngine}: an object with the engine's methods. */
export function optionalEngine(value: unknown, what = 'engine'): CryptoEngine | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    ENGINE_METHODS.some((method) => typeof (value as Record<string, unknown>)[method] !== 'function')
  ) {
    wrongType(what, 'a CryptoEngine', value);
  }
  return value as CryptoEngine;
}

/** A DerNode given where bytes or a node are accepted (anything else is refused). */
export function derNodeArgument<T>(value: T, what: string): T {
  const node = value as { bytes?: unknown; tag?: unknown; contentStart?: unknown; end?: unknown } | null;
  if (
    typeof node !== 'object' ||
    node === null ||
    !(node.bytes instanceof Uint8Array) ||
    typeof node.tag !== 'number' ||
    typeof node.contentStart !== 'number' ||
    typeof node.end !== 'number'
  ) {
    wrongType(what, 'DER bytes (a Uint8Array)', value);
  }
  return value;
}
