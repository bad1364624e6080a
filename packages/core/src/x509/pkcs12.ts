/**
 * `@certloop/core` exportPkcs12: a certificate, its chain and its private key as a PKCS#12 file (RFC 7292) for
 * Java and .NET clients, built with pkijs in the modern profile OpenSSL 3 writes by default: the key shrouded and
 * the certificates encrypted with PBES2 (PBKDF2 with HMAC-SHA256, AES-256-CBC), the whole protected by an
 * HMAC-SHA256 MAC. pkijs runs on an engine over Node's WebCrypto made per call (no global engine is set).
 */
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CertloopError, isCertloopError } from '../errors.js';
import { parseCertificate } from './certificate.js';
import { privateKeyMatchesCertificate } from './key-match.js';
import { loadPrivateKey } from './keys.js';
import { decodeName } from './name.js';
import { optionalString, requireObject } from './options.js';
import { pemEncode, splitCertificates } from './pem.js';

export interface ExportPkcs12Request {
  /** The certificate, PEM; certificates after it join the chain. */
  readonly certificatePem: string;
  /** Its private key: PKCS#8, PKCS#1 or SEC1 PEM (unencrypted). */
  readonly privateKeyPem: string;
  /** Intermediates (and, if wanted, roots), PEM, issuer first. */
  readonly chainPem?: string | undefined;
  /** The password protecting key, certificates and MAC; at least 4 characters (Java's keytool minimum is 6). */
  readonly password: string;
  /** friendlyName of the key and certificate (Java's keystore alias). Default `certloop`. */
  readonly friendlyName?: string | undefined;
  /** PBKDF2 and MAC iteration count. Default 2048 (OpenSSL's). */
  readonly iterations?: number | undefined;
}

const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const OID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';

const arrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

function invalidArgument(message: string): never {
  throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', message);
}

function fromDer<T>(der: Uint8Array, make: (schema: asn1js.AsnType) => T): T {
  const parsed = asn1js.fromBER(arrayBuffer(der));
  if (parsed.offset === -1) throw new CertloopError('CERTLOOP_INVALID_DER', 'asn1js could not read the input');
  return make(parsed.result);
}

function attributes(friendlyName: string | undefined, localKeyId: Uint8Array | undefined): pkijs.Attribute[] {
  const out: pkijs.Attribute[] = [];
  if (friendlyName !== undefined) {
    out.push(new pkijs.Attribute({ type: OID_FRIENDLY_NAME, values: [new asn1js.BmpString({ value: friendlyName })] }));
  }
  if (localKeyId) {
    out.push(
      new pkijs.Attribute({
        type: OID_LOCAL_KEY_ID,
        values: [new asn1js.OctetString({ valueHex: arrayBuffer(localKeyId) })],
      }),
    );
  }
  return out;
}

/**
 * Builds the PKCS#12 file (DER). Throws `CERTLOOP_INVALID_ARGUMENT` (password: under 4 characters, a NUL or a lone
 * surrogate; iterations; friendlyName), `CERTLOOP_INVALID_PEM` / `CERTLOOP_INVALID_DER` (a certificate, or one of
 * its issuer or subject Names, that does not decode) / `CERTLOOP_INVALID_KEY` for unreadable input, `CERTLOOP_KEY_MISMATCH` when the key is not
 * the certificate's, and `CERTLOOP_PKCS12_FAILED` when pkijs cannot build it.
 */
export async function exportPkcs12(request: ExportPkcs12Request): Promise<Uint8Array> {
  requireObject(request, 'exportPkcs12 request');
  const { password } = request;
  if (typeof password !== 'string' || password.length < 4) invalidArgument('password must be at least 4 characters');
  // PKCS#12 passwords are NUL-terminated BMPStrings for the MAC: a NUL would cut the password OpenSSL and Java
  // derive the MAC key from, and a lone surrogate has no BMPString form.
  if (password.includes('\0')) invalidArgument('password must not contain NUL');
  if (/\p{Cs}/u.test(password)) invalidArgument('password must be well-formed Unicode');
  const iterations = request.iterations ?? 2048;
  if (!Number.isSafeInteger(iterations) || iterations < 1000 || iterations > 10_000_000) {
    invalidArgument('iterations must be an integer from 1000 to 10000000');
  }
  const friendlyName = request.friendlyName ?? 'certloop';
  if (typeof friendlyName !== 'string' || friendlyName.length > 256) invalidArgument('friendlyName is too long');
  // friendlyName is a BMPString: characters outside the BMP, control characters and NUL have no portable form
  if (!/^[\x20-\x7e\u00a0-\ud7ff\ue000-\uffff]*$/.test(friendlyName)) {
    invalidArgument('friendlyName must be printable characters of the Basic Multilingual Plane');
  }
  optionalString(request.chainPem, 'chainPem');

  const [leafDer, ...rest] = splitCertificates(request.certificatePem);
  const chainDers = [...rest, ...(request.chainPem?.trim() ? splitCertificates(request.chainPem) : [])];
  // Every certificate whole, its Names included: OpenSSL and Node refuse to load a file holding one whose issuer or
  // subject does not decode.
  for (const [index, der] of [leafDer!, ...chainDers].entries()) {
    const certificate = parseCertificate(der);
    for (const [field, node] of [
      ['issuer', certificate.issuerNode],
      ['subject', certificate.subjectNode],
    ] as const) {
      try {
        decodeName(node);
      } catch (err) {
        throw new CertloopError('CERTLOOP_INVALID_DER', `certificate ${index}: its ${field} Name does not decode`, {
          cause: err,
          details: { index, field },
        });
      }
    }
  }
  const key = loadPrivateKey(request.privateKeyPem);
  if (!privateKeyMatchesCertificate(request.privateKeyPem, pemEncode('CERTIFICATE', leafDer!))) {
    throw new CertloopError('CERTLOOP_KEY_MISMATCH', 'the private key does not belong to the certificate');
  }

  try {
    const crypto = new pkijs.CryptoEngine({
      name: 'node-webcrypto',
      crypto: webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'],
    });
    const localKeyId = new Uint8Array(createHash('sha1').update(leafDer!).digest());
    const passwordBuffer = arrayBuffer(new TextEncoder().encode(password));
    const certBag = (der: Uint8Array, leaf: boolean) =>
      new pkijs.SafeBag({
        bagId: OID_CERT_BAG,
        bagValue: new pkijs.CertBag({
          certId: OID_X509_CERTIFICATE,
          parsedValue: fromDer(der, (schema) => new pkijs.Certificate({ schema })),
        }),
        bagAttributes: leaf ? attributes(friendlyName, localKeyId) : [],
      });
    const keyBag = new pkijs.SafeBag({
      bagId: OID_SHROUDED_KEY_BAG,
      bagValue: new pkijs.PKCS8ShroudedKeyBag({
        parsedValue: fromDer(key.pkcs8Der, (schema) => new pkijs.PrivateKeyInfo({ schema })),
      }),
      bagAttributes: attributes(friendlyName, localKeyId),
    });
    const pbes2 = {
      password: passwordBuffer,
      contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 },
      hmacHashAlgorithm: 'SHA-256',
      iterationCount: iterations,
    };
    const pfx = new pkijs.PFX({
      parsedValue: {
        integrityMode: 0, // password-based MAC
        authenticatedSafe: new pkijs.AuthenticatedSafe({
          parsedValue: {
            safeContents: [
              // certificates: encrypted with PBES2 (privacy mode 1)
              {
                privacyMode: 1,
                value: new pkijs.SafeContents({
                  safeBags: [certBag(leafDer!, true), ...chainDers.map((d) => certBag(d, false))],
                }),
              },
              // the key: shrouded itself, in a plain SafeContents (privacy mode 0), as OpenSSL writes it
              { privacyMode: 0, value: new pkijs.SafeContents({ safeBags: [keyBag] }) },
            ],
          },
        }),
      },
    });
    await (keyBag.bagValue as pkijs.PKCS8ShroudedKeyBag).makeInternalValues(pbes2, crypto);
    await pfx.parsedValue!.authenticatedSafe!.makeInternalValues({ safeContents: [pbes2, {}] }, crypto);
    await pfx.makeInternalValues(
      { password: passwordBuffer, iterations, pbkdf2HashAlgorithm: 'SHA-256', hmacHashAlgorithm: 'SHA-256' },
      crypto,
    );
    return new Uint8Array(pfx.toSchema().toBER(false));
  } catch (err) {
    if (isCertloopError(err)) throw err;
    throw new CertloopError('CERTLOOP_PKCS12_FAILED', 'the PKCS#12 file could not be built', { cause: err });
  }
}
