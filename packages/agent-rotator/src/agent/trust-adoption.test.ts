/**
 * The checks an agent runs on a trust bundle its server sent: strict, bounded parsing (CA certificates only) and
 * "the current server certificate still validates", each refusal typed.
 */
import {
  CertloopError,
  createSelfSignedCa,
  generateKeyPair,
  joinPemBundle,
  LocalCertificateAuthority,
  systemClock,
  trustBundleDigest,
} from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { assertKeepsServer, readOfferedBundle, TRUST_BUNDLE_LIMITS } from './trust-adoption.js';

async function ca(name: string) {
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const root = await createSelfSignedCa({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: name },
    lifetimeSeconds: 86_400,
  });
  return {
    pem: root.certificatePem,
    authority: new LocalCertificateAuthority({
      certificatePem: root.certificatePem,
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: root.certificatePem,
    }),
  };
}

function refusalOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    expect((err as CertloopError).code).toBe('CERTLOOP_TRUST_BUNDLE_REFUSED');
    return (err as CertloopError).details?.refusal;
  }
  return undefined;
}

async function asyncRefusalOf(pending: Promise<unknown>): Promise<unknown> {
  try {
    await pending;
  } catch (err) {
    expect((err as CertloopError).code).toBe('CERTLOOP_TRUST_BUNDLE_REFUSED');
    return (err as CertloopError).details?.refusal;
  }
  return undefined;
}

describe('readOfferedBundle', () => {
  it('reads CA certificates into a canonical bundle with its digest', async () => {
    const a = await ca('A');
    const b = await ca('B');
    const text = `junk before\r\n${a.pem.replace(/\n/g, '\r\n')}between\n${b.pem}`;
    const read = readOfferedBundle(text);
    expect(read.pem).toBe(joinPemBundle([a.pem, b.pem]));
    expect(read.digest).toBe(trustBundleDigest(joinPemBundle([a.pem, b.pem])));
  });

  it('refuses garbage, other blocks, truncated DER, leaves and oversize input', async () => {
    const a = await ca('A');
    const leaf = await a.authority.issue({
      commonName: 'leaf',
      profile: 'server',
      dnsNames: ['leaf'],
      lifetimeSeconds: 3600,
    });
    const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    expect(refusalOf(() => readOfferedBundle('not a bundle'))).toBe('unreadable');
    expect(refusalOf(() => readOfferedBundle(''))).toBe('unreadable');
    expect(refusalOf(() => readOfferedBundle(undefined as unknown as string))).toBe('unreadable');
    expect(refusalOf(() => readOfferedBundle(key.privateKeyPem))).toBe('unreadable');
    expect(refusalOf(() => readOfferedBundle('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'))).toBe(
      'unreadable',
    );
    expect(refusalOf(() => readOfferedBundle(leaf.certificatePem))).toBe('not-a-ca');
    expect(refusalOf(() => readOfferedBundle(a.pem.repeat(TRUST_BUNDLE_LIMITS.maxCertificates + 1)))).toBe(
      'unreadable',
    );
    expect(refusalOf(() => readOfferedBundle(`${a.pem}${' '.repeat(TRUST_BUNDLE_LIMITS.maxBytes)}`))).toBe(
      'unreadable',
    );
  });
});

describe('assertKeepsServer', () => {
  it('passes a bundle the server chain validates against, refuses one it does not, and no chain at all', async () => {
    const a = await ca('A');
    const b = await ca('B');
    const server = await a.authority.issue({
      commonName: 'relay-server',
      profile: 'server',
      dnsNames: ['localhost'],
      lifetimeSeconds: 3600,
    });
    const chain = { leafPem: server.certificatePem, intermediatesPem: undefined };
    const clock = systemClock;
    await assertKeepsServer(readOfferedBundle(joinPemBundle([a.pem, b.pem])), chain, clock);
    expect(await asyncRefusalOf(assertKeepsServer(readOfferedBundle(b.pem), chain, clock))).toBe('locks-out');
    expect(await asyncRefusalOf(assertKeepsServer(readOfferedBundle(a.pem), undefined, clock))).toBe(
      'no-server-certificate',
    );
  });
});
