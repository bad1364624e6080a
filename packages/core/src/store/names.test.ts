import { describe, expect, it } from 'vitest';
import {
  assertDataKey,
  assertSecretInput,
  assertSecretName,
  isValidDataKey,
  isValidSecretName,
  MAX_SECRET_BYTES,
} from './names.js';

describe('secret names', () => {
  it.each([
    ['a', true],
    ['relay-root-tls-secret', true],
    ['a.b-c.0', true],
    ['0', true],
    ['x'.repeat(253), true],
    ['x'.repeat(254), false],
    ['', false],
    ['A', false],
    ['a_b', false],
    ['a..b', false],
    ['.a', false],
    ['a.', false],
    ['-a', false],
    ['a/b', false],
    ['..', false],
    ['a\u0000', false],
  ])('%j valid: %s', (name, valid) => {
    expect(isValidSecretName(name)).toBe(valid);
    if (valid) expect(() => assertSecretName(name)).not.toThrow();
    else expect(() => assertSecretName(name)).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_NAME' }));
  });

  it('refuses non-strings', () => {
    expect(() => assertSecretName(42)).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_NAME' }));
  });
});

describe('data keys', () => {
  it.each([
    ['tls.crt', true],
    ['.hidden', true],
    ['a..b', true],
    ['UPPER_lower-1.2', true],
    ['k'.repeat(253), true],
    ['k'.repeat(254), false],
    ['.', false],
    ['..', false],
    ['..data', false],
    ['', false],
    ['a/b', false],
    ['a b', false],
  ])('%j valid: %s', (key, valid) => {
    expect(isValidDataKey(key)).toBe(valid);
    if (valid) expect(() => assertDataKey(key)).not.toThrow();
    else expect(() => assertDataKey(key)).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_NAME' }));
  });
});

describe('assertSecretInput', () => {
  it('fills defaults and accepts exactly the size limit', () => {
    const value = new Uint8Array(MAX_SECRET_BYTES - 'Opaque'.length - 1);
    const normalized = assertSecretInput({ data: { k: value } });
    // compared by identity: a deep comparison of 1 MiB takes seconds
    expect(normalized.data.k).toBe(value);
    expect(normalized).toMatchObject({ type: 'Opaque', labels: {}, annotations: {} });
  });

  it('counts labels and annotations towards the limit', () => {
    const value = new Uint8Array(MAX_SECRET_BYTES - 'Opaque'.length - 1);
    expect(() => assertSecretInput({ data: { k: value }, labels: { a: 'b' } })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INPUT_TOO_LARGE' }),
    );
  });

  it('keeps a __proto__ data key as plain data', () => {
    const input = Object.fromEntries([['__proto__', new Uint8Array([1])]]);
    const normalized = assertSecretInput({ data: input });
    expect(Object.keys(normalized.data)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(normalized.data)).toBe(Object.prototype);
  });
});
