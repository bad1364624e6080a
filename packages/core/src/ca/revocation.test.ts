import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import type { CertloopError } from '../errors.js';
import { authorityFromSecret, bootstrapRelayPki } from '../relay/bootstrap.js';
import { DEFAULT_RELAY_SECRET_NAMES as N } from '../relay/layout.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { validateChain } from '../x509/chain.js';
import { readCrls } from '../x509/crl.js';
import { pemDecode } from '../x509/pem.js';
import type { LocalCertificateAuthority } from './local-ca.js';
import { REVOCATION_KEYS } from './revocation.js';
import { code, openssl, type TempDir, tempDir } from './test-support.js';
import { isRevokingAuthority } from './types.js';

const START = new Date('2030-03-01T10:00:00Z');
let tmp: TempDir;
let clock: ManualClock;
let store: MemorySecretStore;
let ca: LocalCertificateAuthority;
let trustBundlePem: string;

beforeAll(async () => {
  tmp = await tempDir('certloop-revocation-');
  clock = new ManualClock(START);
  store = new MemorySecretStore();
  const pki = await bootstrapRelayPki({ store, clock, token: false });
  ca = pki.signingCa;
  trustBundlePem = pki.trustBundlePem;
});

afterAll(async () => {
  await tmp.remove();
});

const issueClient = (name: string, lifetimeSeconds = 30 * 86_400) =>
  ca.issue({ commonName: name, lifetimeSeconds, profile: 'server+client', dnsNames: [`${name}.example`] });

const validate = (leaf: { certificatePem: string; chainPem: string }, crls: unknown, extra = {}) =>
  validateChain({
    leafPem: leaf.certificatePem,
    intermediatesPem: leaf.chainPem,
    trustBundlePem,
    clock,
    crls: crls as string,
    ...extra,
  });

describe('LocalCertificateAuthority revocation', () => {
  it('revokes a serial, stores the CRL beside the signing key, and openssl accepts the CRL and refuses the certificate', async () => {
    expect(isRevokingAuthority(ca)).toBe(true);
    const revoked = await issueClient('revoked');
    const good = await issueClient('good');
    const result = await ca.revoke({ serialNumber: revoked.serialNumber, reason: 'keyCompromise' });
    expect(result).toMatchObject({ serialNumber: revoked.serialNumber, alreadyRevoked: false, crlNumber: 1 });
    expect(result.revokedAt).toEqual(START);

    const secret = (await store.get(N.signing))!;
    expect(new TextDecoder().decode(secret.data[REVOCATION_KEYS.crl])).toBe(result.crlPem);
    expect(secret.data['tls.key']).toBeDefined();
    expect(await ca.currentCrl()).toBe(result.crlPem);

    const crl = await tmp.write('signing.crl', result.crlPem);
    const issuer = await tmp.write('signing.pem', ca.certificatePem);
    const roots = await tmp.write('roots.pem', trustBundlePem);
    const verified = await openssl(['crl', '-in', crl, '-CAfile', issuer, '-noout', '-verify']);
    expect(verified.stderr).toContain('verify OK');
    const text = await openssl(['crl', '-in', crl, '-noout', '-text']);
    expect(text.stdout).toContain('Version 2');
    expect(text.stdout).toMatch(/X509v3 CRL Number: \s*\n\s*1\b/);
    expect(text.stdout).toContain('X509v3 Authority Key Identifier');
    expect(text.stdout).toContain('Key Compromise');
    expect(text.stdout).toContain(revoked.serialNumber.toUpperCase());

    // openssl verify -crl_check: the revoked leaf fails, the other passes (the check uses the real current time)
    const check = async (leafPem: string) => {
      const leaf = await tmp.write(`leaf-${Math.random()}.pem`, leafPem);
      const chain = await tmp.write(`chain-${Math.random()}.pem`, ca.certificatePem);
      const at = String(Math.floor(clock.now().getTime() / 1000) + 60);
      return openssl([
        'verify',
        '-crl_check',
        '-attime',
        at,
        '-CAfile',
        roots,
        '-untrusted',
        chain,
        '-CRLfile',
        crl,
        leaf,
      ]);
    };
    const refused = await check(revoked.certificatePem);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('certificate revoked');
    expect((await check(good.certificatePem)).code).toBe(0);

    // pkijs, an independent reader, sees the same CRL
    const der = pemDecode(result.crlPem, ['X509 CRL']).der;
    const parsed = new pkijs.CertificateRevocationList({ schema: asn1js.fromBER(der.slice().buffer).result });
    expect(parsed.version).toBe(1);
    expect(parsed.revokedCertificates).toHaveLength(1);
    expect(
      Buffer.from(parsed.revokedCertificates![0]!.userCertificate.valueBlock.valueHexView).toString('hex'),
    ).toMatch(new RegExp(`^(00)?${revoked.serialNumber}$`));

    // validateChain with the CRL: revoked refused with its code, the other accepted; PEM or DER alike
    const err = await validate(revoked, result.crlPem).catch((e: CertloopError) => e);
    expect((err as CertloopError).code).toBe('CERTLOOP_CHAIN_REVOKED');
    expect((err as CertloopError).details).toMatchObject({ index: 0, reason: 'keyCompromise' });
    expect((await validate(good, [der])).chain).toHaveLength(3);
  });

  it('revoking twice keeps the first date and writes nothing; publishCrl moves the CRL number on', async () => {
    const leaf = await issueClient('twice');
    const first = await ca.revoke({ serialNumber: leaf.serialNumber });
    const version = (await store.get(N.signing))!.version;
    clock.advance(60_000);
    const second = await ca.revoke({ serialNumber: leaf.serialNumber.toUpperCase(), reason: 'superseded' });
    expect(second).toMatchObject({ alreadyRevoked: true, crlNumber: first.crlNumber, revokedAt: first.revokedAt });
    expect((await store.get(N.signing))!.version).toBe(version);
    const published = await ca.publishCrl();
    expect(published.crlNumber).toBe(first.crlNumber + 1);
    expect(readCrls(published.crlPem)[0]!.revoked.has(leaf.serialNumber)).toBe(true);
  });

  it('concurrent revocations from two CA instances over one store lose nothing and never reuse a CRL number', async () => {
    const other = authorityFromSecret((await store.get(N.signing))!, { clock, store });
    const leaves = await Promise.all(Array.from({ length: 8 }, (_, i) => issueClient(`concurrent-${i}`)));
    const before = readCrls((await ca.currentCrl())!)[0]!;
    const results = await Promise.all(
      leaves.map((leaf, i) =>
        (i % 2 ? other : ca).revoke({ serialNumber: leaf.serialNumber, reason: 'cessationOfOperation' }),
      ),
    );
    const numbers = results.map((r) => r.crlNumber).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(8);
    const final = readCrls((await ca.currentCrl())!)[0]!;
    expect(Number.parseInt(final.crlNumber!, 16)).toBe(Number.parseInt(before.crlNumber!, 16) + 8);
    for (const leaf of leaves) expect(final.revoked.get(leaf.serialNumber)?.reason).toBe('cessationOfOperation');
  });

  it('refuses bad requests with codes, and a CA without a store cannot revoke', async () => {
    expect(await code(ca.revoke({ serialNumber: 'not hex' }))).toBe('CERTLOOP_INVALID_ARGUMENT');
    expect(await code(ca.revoke({ serialNumber: '01', reason: 'removeFromCRL' as never }))).toBe(
      'CERTLOOP_INVALID_ARGUMENT',
    );
    const plain = authorityFromSecret((await store.get(N.signing))!, { clock });
    expect(plain.canRevoke).toBe(false);
    expect(isRevokingAuthority(plain)).toBe(false);
    expect(await code(plain.revoke({ serialNumber: '01' }))).toBe('CERTLOOP_INVALID_CONFIG');
    // a corrupt ledger is reported, never overwritten
    const corruptStore = new MemorySecretStore();
    const secret = (await store.get(N.signing))!;
    await corruptStore.put(N.signing, {
      ...secret,
      data: { ...secret.data, [REVOCATION_KEYS.revocations]: new TextEncoder().encode('{') },
    });
    const corrupt = authorityFromSecret((await corruptStore.get(N.signing))!, { clock, store: corruptStore });
    expect(await code(corrupt.revoke({ serialNumber: '01' }))).toBe('CERTLOOP_STORE_CORRUPT');
  });
});

describe('validateChain with CRLs', () => {
  it('refuses a CRL from another CA, one with a bad signature, one past nextUpdate, and malformed input, each with its code', async () => {
    const leaf = await issueClient('crl-checks');
    const { crlPem } = await ca.publishCrl();
    const der = pemDecode(crlPem, ['X509 CRL']).der;

    // a CRL from an unrelated CA (another relay PKI with the same names but other keys)
    const otherStore = new MemorySecretStore();
    const otherCa = (await bootstrapRelayPki({ store: otherStore, clock, token: false })).signingCa;
    const foreign = (await otherCa.publishCrl()).crlPem;
    expect(await code(validate(leaf, foreign))).toBe('CERTLOOP_CHAIN_CRL_ISSUER_MISMATCH');

    // the right issuer, a tampered signature
    const tampered = der.slice();
    tampered[tampered.length - 3] ^= 0x01;
    expect(await code(validate(leaf, [tampered]))).toBe('CERTLOOP_CHAIN_CRL_SIGNATURE_INVALID');

    // past nextUpdate (7 days), unless a grace period covers it
    const later = { at: new Date(clock.now().getTime() + 8 * 86_400_000) };
    expect(await code(validate(leaf, crlPem, later))).toBe('CERTLOOP_CHAIN_CRL_EXPIRED');
    expect(await code(validate(leaf, crlPem, { ...later, crlGraceSeconds: 2 * 86_400 }))).toBeUndefined();

    expect(await code(validate(leaf, '-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n'))).toBe(
      'CERTLOOP_CRL_INVALID',
    );
    expect(await code(validate(leaf, [new Uint8Array([0x30, 0x03, 0x02, 0x01])]))).toBe('CERTLOOP_CRL_INVALID');
    expect(await code(validate(leaf, crlPem, { crlGraceSeconds: -1 }))).toBe('CERTLOOP_INVALID_ARGUMENT');
  });
});
