import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createSecureContext, createServer, type Server } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { code, type TempDir, tempDir } from '../ca/test-support.js';
import { createTestPki } from '../testing/pki.js';
import { buildCertificate, prepareIssuer } from './certificate-builder.js';
import { oid, seq, setOf, Tag, tlv, utf8String } from './der.js';
import { OID } from './oids.js';
import { exportPkcs12 } from './pkcs12.js';

const run = promisify(execFile);
const KEYTOOL = '/usr/bin/keytool';
let tmp: TempDir;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  tmp = await tempDir('certloop-p12-');
});

afterAll(async () => {
  await tmp.remove();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('exportPkcs12', () => {
  for (const keyAlgorithm of ['ECDSA-P256', 'RSA-2048'] as const) {
    it(`${keyAlgorithm}: openssl pkcs12 reads it (PBES2/AES-256-CBC, HMAC-SHA256 MAC) and Node serves TLS from it`, async () => {
      const pki = await createTestPki({ algorithm: keyAlgorithm });
      const leaf = await pki.issue({ commonName: 'java-client', dnsNames: ['localhost'], profile: 'server' });
      const password = 'correct horse';
      // tls.crt style: the leaf, then its chain
      const pfx = await exportPkcs12({
        certificatePem: leaf.certificatePem,
        privateKeyPem: leaf.privateKeyPem,
        password,
        friendlyName: 'relay-agent',
      });
      const file = await tmp.write(`${keyAlgorithm}.p12`, '');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, pfx);

      const info = await run(
        '/usr/bin/openssl',
        ['pkcs12', '-info', '-in', file, '-passin', `pass:${password}`, '-nodes'],
        {
          encoding: 'utf8',
        },
      );
      const out = info.stdout + info.stderr;
      expect(out).toContain('MAC: sha256');
      expect(out).toMatch(/PBES2, PBKDF2, AES-256-CBC/);
      expect(out).toContain('friendlyName: relay-agent');
      expect(out.match(/BEGIN CERTIFICATE/g)).toHaveLength(leaf.certificatePem.match(/BEGIN CERTIFICATE/g)!.length);
      expect(out).toContain('BEGIN PRIVATE KEY');
      // a wrong password fails the MAC
      await expect(
        run('/usr/bin/openssl', ['pkcs12', '-info', '-in', file, '-passin', 'pass:wrong', '-nodes']),
      ).rejects.toThrow();

      // Node loads it and serves a real handshake from it
      const context = createSecureContext({ pfx: Buffer.from(pfx), passphrase: password });
      expect(context).toBeDefined();
      const server: Server = createServer({ pfx: Buffer.from(pfx), passphrase: password }, (s) => s.end('hi'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const port = (server.address() as { port: number }).port;
      const serial = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.trustBundlePem }, () => {
          resolve(socket.getPeerCertificate().serialNumber.toLowerCase());
          socket.destroy();
        });
        socket.once('error', reject);
      });
      expect(serial.replace(/^0+/, '')).toBe(leaf.serialNumber);

      // Java's keytool, when the JDK is installed (it is a Debian package: openjdk-17-jre-headless)
      if (existsSync(KEYTOOL)) {
        const list = await run(
          KEYTOOL,
          ['-list', '-v', '-keystore', file, '-storetype', 'PKCS12', '-storepass', password],
          {
            encoding: 'utf8',
          },
        );
        expect(list.stdout).toContain('Alias name: relay-agent');
        expect(list.stdout).toContain('PrivateKeyEntry');
      }
    });
  }

  it('refuses bad input with codes', async () => {
    const pki = await createTestPki();
    const leaf = await pki.issue({ commonName: 'x', profile: 'client' });
    const other = await pki.issue({ commonName: 'y', profile: 'client' });
    const base = { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, password: 'secret!' };
    expect(await code(exportPkcs12({ ...base, privateKeyPem: other.privateKeyPem }))).toBe('CERTLOOP_KEY_MISMATCH');
    expect(await code(exportPkcs12({ ...base, password: '' }))).toBe('CERTLOOP_INVALID_ARGUMENT');
    expect(await code(exportPkcs12({ ...base, iterations: 10 }))).toBe('CERTLOOP_INVALID_ARGUMENT');
    expect(await code(exportPkcs12({ ...base, certificatePem: 'nope' }))).toBe('CERTLOOP_INVALID_PEM');
    expect(await code(exportPkcs12(null as never))).toBe('CERTLOOP_INVALID_ARGUMENT');
    // issue 14: a NUL cuts the BMPString password OpenSSL derives the MAC key from; a lone surrogate has no form
    for (const password of ['sec\0ret', 'secret\0', 'sec\ud800ret']) {
      expect(await code(exportPkcs12({ ...base, password }))).toBe('CERTLOOP_INVALID_ARGUMENT');
    }
    for (const friendlyName of ['a\0b', 'tab\there', 'emoji \u{1f600}']) {
      expect(await code(exportPkcs12({ ...base, friendlyName }))).toBe('CERTLOOP_INVALID_ARGUMENT');
    }
  });

  it('refuses a certificate whose issuer or subject Name does not decode (OpenSSL and Node could not load the file)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issuer = await prepareIssuer({
      nameDer: seq(setOf(seq(oid(OID.commonName), utf8String('issuer')))),
      pkcs8Der: privateKey.export({ format: 'der', type: 'pkcs8' }),
      info: { type: 'ECDSA', size: 256, curve: 'P-256' },
    });
    const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const spkiDer = publicKey.export({ format: 'der', type: 'spki' });
    const good = seq(setOf(seq(oid(OID.commonName), utf8String('ok'))));
    const badNames = {
      'an INTEGER value': seq(setOf(seq(oid(OID.commonName), tlv(Tag.INTEGER, new Uint8Array([5]))))),
      'a BMPString of odd length': seq(
        setOf(seq(oid(OID.commonName), tlv(Tag.BMP_STRING, new Uint8Array([0, 0x41, 0])))),
      ),
      'invalid UTF-8': seq(setOf(seq(oid(OID.commonName), tlv(Tag.UTF8_STRING, new Uint8Array([0xc3, 0x28]))))),
      'an empty RDN': seq(setOf()),
    };
    for (const [what, bad] of Object.entries(badNames)) {
      for (const field of ['subject', 'issuer'] as const) {
        const { pem } = await buildCertificate(field === 'issuer' ? { ...issuer, nameDer: bad } : issuer, {
          serialNumber: new Uint8Array([0x41]),
          notBefore: new Date('2026-01-01T00:00:00Z'),
          notAfter: new Date('2027-01-01T00:00:00Z'),
          subjectDer: field === 'subject' ? bad : good,
          spkiDer,
          extensions: [],
        });
        const err = await exportPkcs12({ certificatePem: pem, privateKeyPem, password: 'secret!' }).catch((e) => e);
        expect(err, `${what} in ${field}`).toMatchObject({
          code: 'CERTLOOP_INVALID_DER',
          details: { field, index: 0 },
        });
      }
    }
  });
});
