import { Crypto } from '@peculiar/webcrypto';
import { describe, expect, it } from 'vitest';
import { type CryptoEngine, createWebCryptoEngine, nodeCryptoEngine, publicKeyImportPath } from './crypto-engine.js';
import { ecdsaDerToRaw, ecdsaRawToDer } from './ecdsa-signature.js';
import { decodeSignatureAlgorithm, signatureAlgorithmForKey, signData, verifySignature } from './signature.js';
import { describePublicKey } from './spki.js';
import type { KeyAlgorithm } from './types.js';

const ENGINES: readonly [string, CryptoEngine][] = [
  ['node:crypto', nodeCryptoEngine],
  ['WebCrypto (node globalThis.crypto)', createWebCryptoEngine(globalThis.crypto)],
  ['WebCrypto (@peculiar/webcrypto)', createWebCryptoEngine(new Crypto() as never)],
];
const ALGORITHMS: readonly KeyAlgorithm[] = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'Ed25519'];
const data = new TextEncoder().encode('to be signed');

describe.each(ENGINES)('%s engine', (_name, engine) => {
  it.each(ALGORITHMS)(
    'signs with %s so that every engine verifies, and rejects a tampered message',
    async (algorithm) => {
      const pair = await engine.generateKeyPair(algorithm);
      const info = describePublicKey(pair.spkiDer);
      expect(info.algorithm).toBe(algorithm);
      const key = await engine.importPrivateKey(pair.pkcs8Der, info);
      const { signature, algorithm: sigAlg } = await signData({ key, data, engine });
      expect(sigAlg).toBe(signatureAlgorithmForKey(info));
      for (const [, verifier] of ENGINES) {
        const check = (message: Uint8Array) =>
          verifySignature({
            spkiDer: pair.spkiDer,
            algorithmDer: sigAlg.der,
            data: message,
            signature,
            engine: verifier,
          });
        await expect(check(data)).resolves.toBe(true);
        await expect(check(data.subarray(1))).resolves.toBe(false);
      }
    },
  );

  it('refuses keys it cannot import with CERTLOOP_INVALID_KEY', async () => {
    const info = describePublicKey((await nodeCryptoEngine.generateKeyPair('ECDSA-P256')).spkiDer);
    await expect(engine.importPrivateKey(new Uint8Array([0x30, 0x00]), info)).rejects.toMatchObject({
      code: 'CERTLOOP_INVALID_KEY',
    });
  });
});

describe('signature algorithms', () => {
  it('maps keys to the X.509 signature algorithms certloop uses', () => {
    const names = [
      signatureAlgorithmForKey({ type: 'ECDSA', size: 256, curve: 'P-256' }),
      signatureAlgorithmForKey({ type: 'ECDSA', size: 384, curve: 'P-384' }),
      signatureAlgorithmForKey({ type: 'RSA', size: 4096 }),
      signatureAlgorithmForKey({ type: 'Ed25519', size: 256 }),
    ].map((a) => [a.name, Buffer.from(a.der).toString('hex')]);
    expect(names).toEqual([
      ['ecdsa-with-SHA256', '300a06082a8648ce3d040302'],
      ['ecdsa-with-SHA384', '300a06082a8648ce3d040303'],
      ['sha256WithRSAEncryption', '300d06092a864886f70d01010b0500'],
      ['ED25519', '300506032b6570'],
    ]);
  });

  it('refuses unknown algorithms, and gives false when the algorithm does not fit the key', async () => {
    const pss = new Uint8Array([0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a]);
    expect(() => decodeSignatureAlgorithm(pss)).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_UNSUPPORTED_ALGORITHM' }),
    );
    const pair = await nodeCryptoEngine.generateKeyPair('ECDSA-P256');
    const rsaAlg = signatureAlgorithmForKey({ type: 'RSA', size: 2048 });
    await expect(
      verifySignature({ spkiDer: pair.spkiDer, algorithmDer: rsaAlg.der, data, signature: new Uint8Array(256) }),
    ).resolves.toBe(false);
  });

  it('converts ECDSA signatures between DER and IEEE P1363', () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80; // r needs a sign byte in DER
    raw[63] = 1; // s is small: leading zeros stripped
    const der = ecdsaRawToDer(raw);
    expect(Buffer.from(der.subarray(0, 6)).toString('hex')).toBe('302602210080');
    expect(ecdsaDerToRaw(der, 32)).toEqual(raw);
    expect(ecdsaDerToRaw(new Uint8Array([0x30, 0x00]), 32)).toBeUndefined();
    expect(ecdsaDerToRaw(der, 16)).toBeUndefined();
  });
});

describe('nodeCryptoEngine public key import (the form is chosen by measurement, issue 16)', () => {
  it.each<KeyAlgorithm>(['ECDSA-P256', 'RSA-2048', 'Ed25519'])(
    '%s: the imports that measure and the later ones (the chosen form) give the same key; a bad key is typed',
    async (algorithm) => {
      const { createPublicKey } = await import('node:crypto');
      const { spkiDer, pkcs8Der } = await nodeCryptoEngine.generateKeyPair(algorithm);
      const info = describePublicKey(spkiDer);
      const expected = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
      const privateKey = await nodeCryptoEngine.importPrivateKey(pkcs8Der, info);
      const data = new Uint8Array([1, 2, 3]);
      const hash = algorithm === 'Ed25519' ? undefined : 'SHA-256';
      const signature = await nodeCryptoEngine.sign({ key: privateKey, ...(hash ? { hash } : {}), data });
      const broken = spkiDer.slice();
      broken[broken.length - 1]! ^= 1;
      // enough imports to finish the measurement: the form is chosen after them, whichever it is
      for (let i = 0; i < 30; i++) {
        const key = await nodeCryptoEngine.importPublicKey(spkiDer, info);
        expect((key as unknown as { keyObject: import('node:crypto').KeyObject }).keyObject.equals(expected)).toBe(
          true,
        );
        expect(await nodeCryptoEngine.verify({ key, ...(hash ? { hash } : {}), data, signature })).toBe(true);
        if (algorithm === 'ECDSA-P256' && i % 10 === 0) {
          const err = await nodeCryptoEngine.importPublicKey(broken, info).catch((e: unknown) => e);
          expect(err).toMatchObject({ code: 'CERTLOOP_INVALID_KEY' });
        }
      }
      expect(['spki', 'alternative']).toContain(publicKeyImportPath(info));
    },
  );
});
