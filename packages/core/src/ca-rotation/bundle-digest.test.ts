import { describe, expect, it } from 'vitest';
import { createTestPki } from '../ca/test-support.js';
import { trustBundleDigest } from './bundle-digest.js';

describe('trustBundleDigest', () => {
  it('depends on the set of certificates, not their order, duplicates or surrounding text', async () => {
    const { rootPem: a, intermediate } = await createTestPki('ECDSA-P256');
    const b = intermediate.certificatePem;
    const ab = trustBundleDigest(a + b);
    expect(trustBundleDigest(b + a)).toBe(ab);
    expect(trustBundleDigest(`${a.replaceAll('\n', '\r\n')}\n${b}${a}`)).toBe(ab);
    expect(trustBundleDigest(a)).not.toBe(ab);
    expect(trustBundleDigest(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
