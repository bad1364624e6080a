import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyMatchesCertificate } from './key-match.js';
import { pemEncode } from './pem.js';
import { fixtureKey, issue, OPENSSL, run } from './test-certificates.js';

const code = (c: string) => expect.objectContaining({ code: c });

let dir: string;
const keys = new Map<string, string>(); // name -> private key PEM
const certs = new Map<string, string>(); // name -> certificate PEM

const GENPKEY: Record<string, string[]> = {
  rsa: ['-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:2048'],
  p256: ['-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-algorithm', 'ed25519'],
};

/** A PKCS#8 key and a self-signed certificate for it, from the openssl CLI. */
async function opensslKeyAndCert(name: string, genpkey: string[]): Promise<void> {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  await run(OPENSSL, ['genpkey', ...genpkey, '-out', keyPath]);
  await run(OPENSSL, ['req', '-x509', '-key', keyPath, '-subj', `/CN=${name}`, '-days', '1', '-out', certPath]);
  keys.set(name, await readFile(keyPath, 'utf8'));
  certs.set(name, await readFile(certPath, 'utf8'));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-keymatch-'));
  await Promise.all(Object.entries(GENPKEY).map(([name, args]) => opensslKeyAndCert(name, args)));
  // Traditional forms: PKCS#1 for RSA, SEC1 for EC.
  for (const name of ['rsa', 'p256']) {
    const { stdout } = await run(OPENSSL, ['pkey', '-in', join(dir, `${name}.key`), '-traditional']);
    keys.set(`${name}-traditional`, stdout);
  }
  // `openssl ecparam -genkey` writes an EC PARAMETERS block before the SEC1 key; and a compressed-point twin.
  const ecparam = join(dir, 'ecparam.key');
  await run(OPENSSL, ['ecparam', '-name', 'prime256v1', '-genkey', '-out', ecparam]);
  keys.set('ecparam', await readFile(ecparam, 'utf8'));
  const compressed = join(dir, 'compressed.key');
  await run(OPENSSL, ['ec', '-in', ecparam, '-conv_form', 'compressed', '-out', compressed]);
  await run(OPENSSL, [
    'req',
    '-x509',
    '-key',
    compressed,
    '-subj',
    '/CN=compressed',
    '-days',
    '1',
    '-out',
    join(dir, 'compressed.pem'),
  ]);
  certs.set('compressed', await readFile(join(dir, 'compressed.pem'), 'utf8'));
  // The encrypted form of the RSA key.
  const { stdout } = await run(OPENSSL, [
    'pkcs8',
    '-topk8',
    '-in',
    join(dir, 'rsa.key'),
    '-passout',
    'pass:secret',
    '-v2',
    'aes-256-cbc',
  ]);
  keys.set('encrypted', stdout);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('privateKeyMatchesCertificate', () => {
  // Regression: comparing keys of different types with KeyObject.equals left an OpenSSL error queued (Node 20),
  // failing the next key import; every pair of types is exercised here, one after another.
  it.each(Object.keys(GENPKEY))('%s: the key matches its certificate and no other', (name) => {
    expect(privateKeyMatchesCertificate(keys.get(name)!, certs.get(name)!)).toBe(true);
    for (const other of Object.keys(GENPKEY).filter((n) => n !== name)) {
      expect(privateKeyMatchesCertificate(keys.get(name)!, certs.get(other)!)).toBe(false);
    }
  });

  it('reads PKCS#1 (RSA PRIVATE KEY) and SEC1 (EC PRIVATE KEY) keys', () => {
    expect(keys.get('rsa-traditional')).toContain('BEGIN RSA PRIVATE KEY');
    expect(keys.get('p256-traditional')).toContain('BEGIN EC PRIVATE KEY');
    expect(privateKeyMatchesCertificate(keys.get('rsa-traditional')!, certs.get('rsa')!)).toBe(true);
    expect(privateKeyMatchesCertificate(keys.get('p256-traditional')!, certs.get('p256')!)).toBe(true);
    expect(privateKeyMatchesCertificate(keys.get('p256-traditional')!, certs.get('p384')!)).toBe(false);
  });

  it('skips an EC PARAMETERS block, and matches a certificate that carries the point compressed', () => {
    expect(keys.get('ecparam')).toContain('BEGIN EC PARAMETERS');
    expect(privateKeyMatchesCertificate(keys.get('ecparam')!, certs.get('compressed')!)).toBe(true);
    expect(privateKeyMatchesCertificate(keys.get('p256')!, certs.get('compressed')!)).toBe(false);
  });

  it('uses the first certificate of a tls.crt bundle, and accepts DER', () => {
    const bundle = `${certs.get('p256')}${certs.get('rsa')}`;
    expect(privateKeyMatchesCertificate(keys.get('p256')!, bundle)).toBe(true);
    expect(privateKeyMatchesCertificate(keys.get('rsa')!, bundle)).toBe(false);
    const der = new Uint8Array(new X509Certificate(certs.get('ed25519')!).raw);
    expect(privateKeyMatchesCertificate(keys.get('ed25519')!, der)).toBe(true);
  });

  it('a leaf paired with the wrong key of the same type → false (keys made by WebCrypto, certificate by @peculiar/x509)', async () => {
    const [right, wrong] = await Promise.all([fixtureKey('ECDSA-P256'), fixtureKey('ECDSA-P256')]);
    const cert = await issue({ subject: 'CN=pair', key: right });
    expect(privateKeyMatchesCertificate(right.privateKeyPem, cert.pem)).toBe(true);
    expect(privateKeyMatchesCertificate(wrong.privateKeyPem, cert.pem)).toBe(false);
  });

  it.each([
    ['garbage key text', () => 'not a key', 'CERTLOOP_INVALID_PEM'],
    ['a certificate where the key belongs', () => certs.get('rsa')!, 'CERTLOOP_INVALID_PEM'],
    [
      'a PRIVATE KEY block of junk',
      () => pemEncode('PRIVATE KEY', new Uint8Array([0x30, 3, 2, 1, 0])),
      'CERTLOOP_INVALID_KEY',
    ],
    ['an encrypted key', () => keys.get('encrypted')!, 'CERTLOOP_INVALID_KEY'],
    ['a huge key file', () => 'A'.repeat(1024 * 1024), 'CERTLOOP_INPUT_TOO_LARGE'],
  ])('%s → %s, and the message holds no key material', (_name, input, expected) => {
    let thrown: unknown;
    try {
      privateKeyMatchesCertificate(input(), certs.get('rsa')!);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toEqual(code(expected));
    const body = input().split('\n')[1] ?? '';
    if (body.length > 16) expect((thrown as Error).message).not.toContain(body.slice(0, 16));
  });

  it('a bad certificate → its PEM or DER code', () => {
    const key = keys.get('p256')!;
    expect(() => privateKeyMatchesCertificate(key, 'nope')).toThrowError(code('CERTLOOP_INVALID_PEM'));
    expect(() => privateKeyMatchesCertificate(key, pemEncode('CERTIFICATE', new Uint8Array([0x30, 0])))).toThrowError(
      code('CERTLOOP_INVALID_DER'),
    );
  });
});
