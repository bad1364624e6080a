import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, type TempDir, tempDir } from '../ca/test-support.js';
import { isCertloopError } from '../errors.js';
import { generateKeyPair, importPrivateKey } from './keys.js';
import { KEY_ALGORITHMS } from './types.js';

let dir: TempDir;

beforeAll(async () => {
  dir = await tempDir('certloop-keys-');
});

afterAll(async () => {
  await dir.remove();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isCertloopError(err) ? err.code : `not a CertloopError: ${String(err)}`;
  }
  return undefined;
}

describe('generateKeyPair', () => {
  it('makes PKCS#8 keys of every algorithm that openssl reads and importPrivateKey describes', async () => {
    const pairs = await Promise.all(KEY_ALGORITHMS.map((algorithm) => generateKeyPair({ algorithm })));
    for (const pair of pairs) {
      expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      const file = await dir.write(`${pair.algorithm}.key`, pair.privateKeyPem);
      const result = await openssl(['pkey', '-in', file, '-noout']);
      expect(result.code).toBe(0);
      const imported = importPrivateKey(pair.privateKeyPem);
      expect(imported.algorithm).toBe(pair.algorithm);
      expect(imported.privateKeyPem).toBe(pair.privateKeyPem);
      expect(imported.publicKeyPem).toBe(pair.publicKeyPem);
    }
  });

  it('refuses an unknown algorithm', async () => {
    await expect(generateKeyPair({ algorithm: 'DSA-1024' as never })).rejects.toMatchObject({
      code: 'CERTLOOP_UNSUPPORTED_ALGORITHM',
    });
  });
});

describe('importPrivateKey', () => {
  it("accepts openssl's PKCS#1 (genrsa -traditional) and SEC1 (ecparam -genkey) keys, normalised to PKCS#8", async () => {
    const rsa = await openssl(['genrsa', '-traditional', '2048']);
    expect(rsa.stdout).toContain('-----BEGIN RSA PRIVATE KEY-----');
    const importedRsa = importPrivateKey(rsa.stdout);
    expect(importedRsa).toMatchObject({ algorithm: 'RSA-2048', publicKey: { type: 'RSA', size: 2048 } });
    expect(importedRsa.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPrivateKey(importedRsa.privateKeyPem).equals(createPrivateKey(rsa.stdout))).toBe(true);

    for (const [curve, algorithm] of [
      ['prime256v1', 'ECDSA-P256'],
      ['secp384r1', 'ECDSA-P384'],
    ] as const) {
      const ec = await openssl(['ecparam', '-name', curve, '-genkey']);
      expect(ec.stdout).toContain('-----BEGIN EC PARAMETERS-----');
      expect(ec.stdout).toContain('-----BEGIN EC PRIVATE KEY-----');
      const imported = importPrivateKey(ec.stdout);
      expect(imported.algorithm).toBe(algorithm);
      expect(createPrivateKey(imported.privateKeyPem).equals(createPrivateKey(ec.stdout))).toBe(true);
    }

    const ed = await openssl(['genpkey', '-algorithm', 'ED25519']);
    expect(importPrivateKey(ed.stdout).algorithm).toBe('Ed25519');
  });

  it('describes an RSA key of a size certloop does not generate without an algorithm', async () => {
    const rsa = await openssl(['genrsa', '1536']);
    const imported = importPrivateKey(rsa.stdout);
    expect(imported.publicKey).toEqual({ type: 'RSA', size: 1536 });
    expect(imported.algorithm).toBeUndefined();
  });

  it('refuses encrypted keys, garbage, truncated PEM and unsupported curves with typed errors, never echoing the key', async () => {
    const plain = (await generateKeyPair({ algorithm: 'ECDSA-P256' })).privateKeyPem;
    const encrypted = createPrivateKey(plain).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }) as string;
    expect(codeOf(() => importPrivateKey(encrypted))).toBe('CERTLOOP_INVALID_KEY');
    const legacy = await openssl(['genrsa', '-traditional', '-aes128', '-passout', 'pass:secret', '2048']);
    expect(codeOf(() => importPrivateKey(legacy.stdout))).toBe('CERTLOOP_INVALID_KEY');
    expect(codeOf(() => importPrivateKey('hello'))).toBe('CERTLOOP_INVALID_PEM');
    expect(codeOf(() => importPrivateKey(plain.slice(0, 100)))).toBe('CERTLOOP_INVALID_PEM');
    const body = plain.split('\n').slice(1, -2).join('');
    const damaged = `-----BEGIN PRIVATE KEY-----\n${body.slice(0, 40)}\n-----END PRIVATE KEY-----\n`;
    expect(codeOf(() => importPrivateKey(damaged))).toBe('CERTLOOP_INVALID_KEY');
    try {
      importPrivateKey(damaged);
    } catch (err) {
      expect(
        JSON.stringify({ message: (err as Error).message, details: (err as { details?: unknown }).details }),
      ).not.toContain(body.slice(0, 20));
    }
    const k1 = await openssl(['ecparam', '-name', 'secp256k1', '-genkey', '-noout']);
    expect(codeOf(() => importPrivateKey(k1.stdout))).toBe('CERTLOOP_UNSUPPORTED_ALGORITHM');
    const x25519 = await openssl(['genpkey', '-algorithm', 'X25519']);
    expect(codeOf(() => importPrivateKey(x25519.stdout))).toBe('CERTLOOP_UNSUPPORTED_ALGORITHM');
    expect(codeOf(() => importPrivateKey(`${'A'.repeat(70_000)}\n${plain}`))).toBe('CERTLOOP_INPUT_TOO_LARGE');
  });
});
