/**
 * Regression tests for what a structure-aware fuzzer found outside the DER reader proper (issue 8): the CA issuing
 * only the key it verified, typed errors where OpenSSL or JavaScript threw raw ones, PEM parsing in linear time.
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalCertificateAuthority } from '../ca/local-ca.js';
import { validateChain } from './chain.js';
import { parseCsr, verifyCsr } from './csr.js';
import {
  bytes,
  certificatePem,
  csrFixture,
  csrPem,
  F,
  refused,
  resigned,
  type SignedFixture,
  selfSignedFixture,
} from './fuzz/fixtures.js';
import { generateKeyPair, importPrivateKey } from './keys.js';
import { pemEncode, splitPemBundle } from './pem.js';
import { createSelfSignedCa } from './self-signed.js';

let root: SignedFixture;

beforeAll(async () => {
  root = await selfSignedFixture();
});

describe('the CA issues only the key it verified', () => {
  let ca: LocalCertificateAuthority;
  beforeAll(async () => {
    const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const self = await createSelfSignedCa({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'strict CA' },
      lifetimeSeconds: 86_400 * 30,
    });
    ca = new LocalCertificateAuthority({
      certificatePem: self.certificatePem,
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: self.certificatePem,
    });
  });

  it('refuses an Ed25519 CSR key with a NULL parameter or a trailing element (parse, verify and sign)', async () => {
    const ed = await csrFixture('Ed25519');
    const withNull = csrPem(
      resigned(ed, (info) => {
        info.children![2]!.children![0]!.children!.push({ tag: 0x05, content: bytes() });
      }),
    );
    const trailing = csrPem(
      resigned(ed, (info) => {
        info.children![2]!.children!.push({ tag: 0x05, content: bytes() });
      }),
    );
    for (const pem of [withNull, trailing]) {
      expect(() => parseCsr(pem)).toThrow(refused('CERTLOOP_CSR_INVALID'));
      await expect(verifyCsr(pem)).rejects.toThrow(refused('CERTLOOP_CSR_INVALID'));
      await expect(ca.sign({ csrPem: pem, lifetimeSeconds: 3600, profile: 'client' })).rejects.toThrow(
        refused('CERTLOOP_CSR_INVALID'),
      );
    }
    // The clean Ed25519 CSR is issued, and Node loads the issued key.
    const issued = await ca.sign({ csrPem: csrPem(resigned(ed, () => {})), lifetimeSeconds: 3600, profile: 'client' });
    expect(new X509Certificate(issued.certificatePem).publicKey.asymmetricKeyType).toBe('ed25519');
  });

  it('refuses an RSA CSR key without its NULL parameter', async () => {
    const rsa = await csrFixture('RSA-2048');
    const pem = csrPem(
      resigned(rsa, (info) => {
        info.children![2]!.children![0]!.children!.pop();
      }),
    );
    await expect(ca.sign({ csrPem: pem, lifetimeSeconds: 3600, profile: 'client' })).rejects.toThrow(
      refused('CERTLOOP_CSR_INVALID'),
    );
  });
});

describe('typed errors where OpenSSL or JavaScript threw raw ones', () => {
  it('importPrivateKey: an EC private scalar longer than the curve', () => {
    const scalar = Buffer.alloc(40, 0xff);
    const curve = Buffer.from('a00a06082a8648ce3d030107', 'hex');
    const body = Buffer.concat([Buffer.from([2, 1, 1, 4, scalar.length]), scalar, curve]);
    const pem = pemEncode('EC PRIVATE KEY', new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body])));
    expect(() => importPrivateKey(pem)).toThrow(refused('CERTLOOP_INVALID_KEY'));
  });

  it('a CA from a P-256 certificate and an Ed25519 key: KEY_MISMATCH, and the next key import still works', async () => {
    const p256 = await selfSignedFixture('ECDSA-P256');
    const ed = await generateKeyPair({ algorithm: 'Ed25519' });
    const pem = certificatePem(p256.der);
    expect(
      () =>
        new LocalCertificateAuthority({ certificatePem: pem, privateKeyPem: ed.privateKeyPem, trustBundlePem: pem }),
    ).toThrow(refused('CERTLOOP_KEY_MISMATCH'));
    expect(() => createPrivateKey(p256.keyPem)).not.toThrow();
    expect(importPrivateKey(p256.keyPem).algorithm).toBe('ECDSA-P256');
  });

  it('new LocalCertificateAuthority: a certificate key OpenSSL cannot load is CERTLOOP_INVALID_KEY, not ERR_OSSL_*', async () => {
    const p256 = await selfSignedFixture('ECDSA-P256');
    // A point not on the curve: 0x04 followed by 64 bytes of 0x01.
    const der = resigned(p256, (tbs) => {
      tbs.children![F.spki]!.children![1]!.content = bytes(0, 4, ...new Array(64).fill(1));
    });
    const pem = certificatePem(der);
    expect(
      () => new LocalCertificateAuthority({ certificatePem: pem, privateKeyPem: p256.keyPem, trustBundlePem: pem }),
    ).toThrow(refused('CERTLOOP_INVALID_KEY'));
  });

  it('validateChain(null), sign(null), issue(null), new LocalCertificateAuthority(null)', async () => {
    const p256 = await selfSignedFixture('ECDSA-P256');
    const pem = certificatePem(p256.der);
    const ca = new LocalCertificateAuthority({ certificatePem: pem, privateKeyPem: p256.keyPem, trustBundlePem: pem });
    await expect(validateChain(null as never)).rejects.toThrow(refused('CERTLOOP_INVALID_ARGUMENT'));
    await expect(ca.sign(null as never)).rejects.toThrow(refused('CERTLOOP_INVALID_ARGUMENT'));
    await expect(ca.issue(null as never)).rejects.toThrow(refused('CERTLOOP_INVALID_ARGUMENT'));
    expect(() => new LocalCertificateAuthority(null as never)).toThrow(refused('CERTLOOP_INVALID_ARGUMENT'));
  });
});

describe('PEM in linear time', () => {
  // Bounds far above a linear parse (well under a millisecond here) and far below the quadratic one (about a second).
  const LIMIT_MS = 150;

  it('a 32 KiB CSR made of a run of newlines', async () => {
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\nAAAA${'\n'.repeat(32 * 1024 - 80)}!\n-----END CERTIFICATE REQUEST-----\n`;
    const started = performance.now();
    expect(() => parseCsr(pem)).toThrow(refused('CERTLOOP_INVALID_PEM'));
    await expect(verifyCsr(pem)).rejects.toThrow(refused('CERTLOOP_INVALID_PEM'));
    expect(performance.now() - started).toBeLessThan(LIMIT_MS);
  });

  it('255 KiB of unmatched BEGIN lines', () => {
    const line = '-----BEGIN A-----\n';
    const pem = line.repeat(Math.floor((255 * 1024) / line.length));
    const started = performance.now();
    expect(() => splitPemBundle(pem)).toThrow(refused('CERTLOOP_INVALID_PEM'));
    const lower = '-----BEGIN a-----\n'.repeat(Math.floor((255 * 1024) / line.length));
    expect(() => splitPemBundle(lower)).toThrow(refused('CERTLOOP_INVALID_PEM'));
    expect(performance.now() - started).toBeLessThan(LIMIT_MS);
  });

  it('still reads blocks between text, and a block with CRLF lines', () => {
    const pem = certificatePem(resigned(root, () => {}));
    const text = `leading text\n${pem}between\r\n${pem.replace(/\n/g, '\r\n')}trailing`;
    expect(splitPemBundle(text)).toHaveLength(2);
  });
});

// Keys generated by Node (not certloop) are read as before.
describe('interop stays intact', () => {
  it('imports a Node-generated P-384 key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(importPrivateKey(pem).algorithm).toBe('ECDSA-P384');
  });
});
