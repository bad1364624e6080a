/**
 * Each issuance profile, as openssl's purpose checks see it: the extended key usages certloop writes must let a
 * server certificate serve, a client certificate authenticate, and a server+client certificate do both, and nothing
 * more.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, issueLeaf, openssl, type TempDir, type TestPki, tempDir } from './test-support.js';
import type { CertificateProfile } from './types.js';

let dir: TempDir;
let pki: TestPki;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await tempDir('certloop-profiles-');
  pki = await createTestPki('ECDSA-P256');
  files.root = await dir.write('root.pem', pki.rootPem);
  files.inter = await dir.write('inter.pem', pki.intermediate.certificatePem);
});

afterAll(async () => {
  await dir.remove();
});

const cases: Array<{ profile: Exclude<CertificateProfile, 'intermediate'>; sslserver: boolean; sslclient: boolean }> = [
  { profile: 'server', sslserver: true, sslclient: false },
  { profile: 'client', sslserver: false, sslclient: true },
  { profile: 'server+client', sslserver: true, sslclient: true },
];

describe.each(cases)('profile $profile', ({ profile, sslserver, sslclient }) => {
  it(`openssl verify: sslserver ${sslserver ? 'accepts' : 'refuses'}, sslclient ${sslclient ? 'accepts' : 'refuses'}`, async () => {
    const leaf = await issueLeaf(pki.intermediateCa, {
      algorithm: 'ECDSA-P256',
      commonName: `leaf-${profile}`,
      profile,
      dnsNames: ['leaf.example.test'],
    });
    const file = await dir.write(`${profile}.pem`, leaf.certificatePem);
    for (const [purpose, expected] of [
      ['sslserver', sslserver],
      ['sslclient', sslclient],
    ] as const) {
      const result = await openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        purpose,
        '-CAfile',
        files.root!,
        '-untrusted',
        files.inter!,
        file,
      ]);
      expect(result.code === 0, `${purpose}: ${result.stdout}${result.stderr}`).toBe(expected);
    }
    const parsed = new X509Certificate(leaf.certificatePem);
    expect(parsed.ca).toBe(false);
    expect(parsed.keyUsage).toEqual([
      ...(sslserver ? ['1.3.6.1.5.5.7.3.1'] : []),
      ...(sslclient ? ['1.3.6.1.5.5.7.3.2'] : []),
    ]);
  });
});
