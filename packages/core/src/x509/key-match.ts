/**
 * `@certloop/core` privateKeyMatchesCertificate: is this the private key of that certificate?
 *
 * Derives the public key from the private key and compares its SPKI with the certificate's, byte for byte, and
 * once more after letting Node normalise the certificate's encoding (compressed EC points, absent RSA NULL
 * parameters). Works for RSA, EC and Ed25519 keys in PKCS#8, PKCS#1 (`RSA PRIVATE KEY`) and SEC1
 * (`EC PRIVATE KEY`) PEM.
 */
import { createPublicKey } from 'node:crypto';
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
  const derived = loadPrivateKey(keyPem).spkiDer;
  if (bytesEqual(derived, spki)) return true;
  let normalised: Uint8Array;
  try {
    const buffer = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
    normalised = new Uint8Array(
      createPublicKey({ key: buffer, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' }),
    );
  } catch {
    // Node cannot read the certificate's key, so it cannot be the key we hold.
    return false;
  }
  return bytesEqual(derived, normalised);
}
