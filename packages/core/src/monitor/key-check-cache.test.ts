import { describe, expect, it } from 'vitest';
import { createTestPki } from '../testing/pki.js';
import { privateKeyMatchesCertificate } from '../x509/key-match.js';
import { splitCertificates } from '../x509/pem.js';
import { KeyCheckCache } from './key-check-cache.js';

describe('KeyCheckCache', () => {
  it('checks a key against its certificate once, whatever the number of asks; a mismatch is cached too', async () => {
    const pki = await createTestPki();
    const a = await pki.issue({ commonName: 'a' });
    const b = await pki.issue({ commonName: 'b' });
    let checks = 0;
    const cache = new KeyCheckCache({
      check: (key, der) => {
        checks += 1;
        return privateKeyMatchesCertificate(key, der);
      },
    });
    const derA = splitCertificates(a.certificatePem)[0]!;
    for (let i = 0; i < 5; i++) expect(cache.matches(a.privateKeyPem, derA)).toBe(true);
    expect(checks).toBe(1);
    for (let i = 0; i < 3; i++) expect(cache.matches(b.privateKeyPem, derA)).toBe(false);
    expect(checks).toBe(2);
  });

  it('is bounded: the least recently used result goes first', () => {
    let checks = 0;
    const cache = new KeyCheckCache({
      limit: 2,
      check: () => {
        checks += 1;
        return true;
      },
    });
    const der = (n: number) => Uint8Array.of(n);
    cache.matches('k', der(1));
    cache.matches('k', der(2));
    cache.matches('k', der(1)); // 1 is now the most recent
    cache.matches('k', der(3)); // evicts 2
    expect(cache.size).toBe(2);
    cache.matches('k', der(1));
    expect(checks).toBe(3);
    cache.matches('k', der(2));
    expect(checks).toBe(4);
  });

  it('a failing check throws and is not cached', () => {
    let checks = 0;
    const cache = new KeyCheckCache({
      check: () => {
        checks += 1;
        throw new Error('bad key');
      },
    });
    expect(() => cache.matches('k', Uint8Array.of(1))).toThrow();
    expect(() => cache.matches('k', Uint8Array.of(1))).toThrow();
    expect(checks).toBe(2);
  });
});
