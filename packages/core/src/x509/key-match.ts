/**
 * `@certloop/core` privateKeyMatchesCertificate: is this the private key of that certificate?
 *
 * Derives the public key from the private key and compares its SPKI with the certificate's, byte for byte; when
 * the bytes differ, compares the keys themselves (their JWK coordinates), since one key has several encodings
 * (compressed EC points, RSA identifiers without NULL parameters). Works for RSA, EC and Ed25519 keys in PKCS#8,
 * PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) PEM.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { bytesEqual, parseCertificate } from './certificate.js';
import { loadPrivateKey } from './keys.js';
import { splitCertificates } from './pem.js';

function certificateSpki(certificate: string | Uint8Array): Uint8Array {
  const der = typeof certificate === 'string' ? splitCertificates(certificate)[0]! : certificate;
  return parseCertificate(der).spkiDer;
}

/**
 * True when `keyPem` is the private key of the certificate (PEM, whose first block is used, as in `tls.crt`,
 * or DER). A readable key of another kind or value gives false. Throws, never with key material in the message:
 * `CERTLOOP_INVALID_PEM` for text holding no single private key block, `CERTLOOP_INVALID_KEY` for a block that
 * holds no valid key or an encrypted one, `CERTLOOP_UNSUPPORTED_ALGORITHM` for curves certloop does not use,
 * and the PEM/DER/size codes for a bad certificate.
 */
export function privateKeyMatchesCertificate(keyPem: string, certificate: string | Uint8Array): boolean {
  const spki = certificateSpki(certificate);
  const loaded = loadPrivateKey(keyPem);
  if (bytesEqual(loaded.spkiDer, spki)) return true;
  let certificateKey: KeyObject;
  try {
    certificateKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    // Node cannot read the certificate's key, so it cannot be the key we hold.
    return false;
  }
  // Same key, other encoding (a compressed EC point, RSA without NULL parameters): compare the keys' JWK
  // coordinates. Not KeyObject.equals: across key types it leaves an OpenSSL error queued in Node 20, which
  // then fails the next unrelated key import.
  return sameJwk(certificateKey, loaded.publicKeyObject);
}

function sameJwk(a: KeyObject, b: KeyObject): boolean {
  if (a.asymmetricKeyType !== b.asymmetricKeyType) return false;
  try {
    const ja = a.export({ format: 'jwk' });
    const jb = b.export({ format: 'jwk' });
    return ja.kty === jb.kty && ja.crv === jb.crv && ja.x === jb.x && ja.y === jb.y && ja.n === jb.n && ja.e === jb.e;
  } catch {
    return false;
  }
}
