/**
 * Internal (`@certloop/core` x509): writes a signed v2 CRL (RFC 5280 5) with pkijs: cRLNumber, authorityKeyIdentifier,
 * nextUpdate, and a reasonCode per entry. pkijs builds the structure; the TBSCertList is signed through certloop's
 * own {@link CryptoEngine} (so every key type the CA holds works, Ed25519 included). Only DER bytes cross between
 * certloop and pkijs/asn1js.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CertloopError } from '../errors.js';
import type { PreparedIssuer } from './certificate-builder.js';
import { REVOCATION_REASONS, type RevocationReason } from './crl.js';
import { authorityKeyIdentifierValue } from './extensions-writer.js';
import { OID } from './oids.js';
import { pemEncode } from './pem.js';

export interface CrlEntryInput {
  /** Lower-case hex magnitude, as certloop reports serials. */
  readonly serialNumber: string;
  readonly revokedAt: Date;
  readonly reason?: RevocationReason | undefined;
}

export interface BuildCrlRequest {
  readonly issuer: PreparedIssuer;
  /** Monotonic CRL number (RFC 5280 5.2.3). */
  readonly crlNumber: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntryInput[];
}

/** An ArrayBuffer holding exactly these bytes (pkijs and asn1js take ArrayBuffers). */
const arrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

function fromDer(der: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(arrayBuffer(der));
  if (parsed.offset === -1) throw new CertloopError('CERTLOOP_INVALID_DER', `${what} cannot be read by asn1js`);
  return parsed.result;
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function crlTime(date: Date): pkijs.Time {
  const type = date.getUTCFullYear() < 2050 ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime;
  return new pkijs.Time({ type, value: date });
}

/** The serial's INTEGER content: the magnitude with a leading zero when its top bit is set. */
function serialBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-f]{1,64}$/i.test(hex)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a serial number must be hex', {
      details: { serialNumber: hex },
    });
  }
  let even = hex.length % 2 ? `0${hex}` : hex;
  if (Number.parseInt(even.slice(0, 2), 16) >= 0x80) even = `00${even}`;
  return new Uint8Array(Buffer.from(even, 'hex'));
}

function extension(oid: string, valueDer: Uint8Array): pkijs.Extension {
  return new pkijs.Extension({ extnID: oid, critical: false, extnValue: arrayBuffer(valueDer) });
}

function integerDer(value: number): Uint8Array {
  return new Uint8Array(new asn1js.Integer({ value }).toBER(false));
}

function reasonDer(reason: RevocationReason): Uint8Array {
  const value = REVOCATION_REASONS.indexOf(reason);
  if (value < 0 || reason === ('unused' as RevocationReason) || reason === ('removeFromCRL' as RevocationReason)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'unknown revocation reason', { details: { reason } });
  }
  return new Uint8Array(new asn1js.Enumerated({ value }).toBER(false));
}

/** Builds and signs the CRL; gives its DER and PEM (`X509 CRL`). */
export async function buildCrl(request: BuildCrlRequest): Promise<{ der: Uint8Array; pem: string }> {
  const { issuer } = request;
  if (!Number.isSafeInteger(request.crlNumber) || request.crlNumber < 0) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'crlNumber must be a non-negative integer');
  }
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1; // v2
  crl.signature = new pkijs.AlgorithmIdentifier({ schema: fromDer(issuer.algorithm.der, 'the signature algorithm') });
  crl.signatureAlgorithm = new pkijs.AlgorithmIdentifier({
    schema: fromDer(issuer.algorithm.der, 'the signature algorithm'),
  });
  crl.issuer = new pkijs.RelativeDistinguishedNames({ schema: fromDer(issuer.nameDer, 'the issuer name') });
  crl.thisUpdate = crlTime(request.thisUpdate);
  crl.nextUpdate = crlTime(request.nextUpdate);
  if (request.entries.length > 0) {
    crl.revokedCertificates = request.entries.map(
      (entry) =>
        new pkijs.RevokedCertificate({
          userCertificate: new asn1js.Integer({ valueHex: arrayBuffer(serialBytes(entry.serialNumber)) }),
          revocationDate: crlTime(entry.revokedAt),
          ...(entry.reason
            ? {
                crlEntryExtensions: new pkijs.Extensions({
                  extensions: [extension(OID.cRLReason, reasonDer(entry.reason))],
                }),
              }
            : {}),
        }),
    );
  }
  const extensions = [extension(OID.cRLNumber, integerDer(request.crlNumber))];
  if (issuer.keyIdentifier) {
    extensions.unshift(extension(OID.authorityKeyIdentifier, authorityKeyIdentifierValue(issuer.keyIdentifier)));
  }
  crl.crlExtensions = new pkijs.Extensions({ extensions });

  const unsigned = crl.toSchema(true) as asn1js.Sequence;
  const tbs = new Uint8Array(unsigned.valueBlock.value[0]!.toBER(false));
  const hash = issuer.algorithm.hash;
  const signature = await issuer.engine.sign({ key: issuer.key, ...(hash ? { hash } : {}), data: tbs });
  crl.tbsView = tbs;
  crl.signatureValue = new asn1js.BitString({ valueHex: arrayBuffer(signature) });
  const der = new Uint8Array(crl.toSchema(false).toBER(false));
  return { der, pem: pemEncode('X509 CRL', der) };
}
