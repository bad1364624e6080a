/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): the fields a certificate decodes to, read
 * three ways: by certloop, by asn1js/pkijs and by Node's `X509Certificate` (OpenSSL). Only DER bytes cross from one
 * library to another, never a library's own objects. Each reader gives the same plain shape, normalised so equal
 * meaning compares equal (serial as lower-case magnitude hex with a `-` when negative, IPs as 16 bytes in hex).
 */
import { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { parseCertificate } from '../certificate.js';
import { parseIpAddress } from '../general-names.js';
import { inspectCertificate } from '../inspect.js';
import { readSpki } from '../spki.js';

export interface CertificateFields {
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The first CN and first O, when present. */
  readonly commonName: string | undefined;
  readonly organization: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
  readonly emails: readonly string[];
  readonly ca: boolean;
  /** The SPKI algorithm OID and the subjectPublicKey bits, hex. */
  readonly keyAlgorithm: string;
  readonly keyBits: string;
}

const hex = (bytes: ArrayLike<number>) => Buffer.from(bytes as Uint8Array).toString('hex');

/** Signed big-endian two's complement bytes as certloop prints them: magnitude hex, `-` first when negative. */
export function serialText(bytes: Uint8Array): string {
  if (bytes.length && bytes[0]! & 0x80) {
    let value = 0n;
    for (const b of bytes) value = (value << 8n) | BigInt(b);
    value -= 1n << BigInt(8 * bytes.length);
    let text = (-value).toString(16);
    if (text.length % 2) text = `0${text}`;
    return `-${text}`;
  }
  let text = hex(bytes).replace(/^(00)+/, '');
  if (text === '') text = '00';
  return text;
}

const ipHex = (text: string) => {
  const bytes = parseIpAddress(text);
  return bytes ? hex(bytes) : `?${text}`;
};

/**
 * Whether Node calls the certificate a CA (`X509Certificate.ca`: OpenSSL's X509_check_ca answering 1):
 * basicConstraints CA:TRUE and, when keyUsage is present, keyCertSign among its bits.
 */
export function opensslCa(der: Uint8Array): boolean {
  const inspected = inspectCertificate(der);
  const parsed = parseCertificate(der);
  const keyUsagePresent = parsed.extensions.some((e) => e.oid === '2.5.29.15');
  return inspected.isCA && (!keyUsagePresent || inspected.keyUsage.includes('keyCertSign'));
}

/** certloop's reading (throws what certloop throws). */
export function certloopFields(der: Uint8Array): CertificateFields {
  const inspected = inspectCertificate(der);
  const spki = readSpki(parseCertificate(der).spkiDer);
  return {
    serial: inspected.serialNumber,
    notBefore: inspected.notBefore.getTime(),
    notAfter: inspected.notAfter.getTime(),
    commonName: inspected.subject.commonName,
    organization: inspected.subject.organization,
    dnsNames: inspected.sans.dnsNames,
    ipAddresses: inspected.sans.ipAddresses.map(ipHex),
    uris: inspected.sans.uris,
    emails: inspected.sans.emails,
    ca: inspected.isCA,
    keyAlgorithm: spki.algorithmOid,
    keyBits: hex(spki.publicKeyBytes),
  };
}

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';

/** asn1js/pkijs's reading (throws when pkijs cannot decode the DER). */
export function pkijsFields(der: Uint8Array): CertificateFields {
  const cert = pkijs.Certificate.fromBER(der);
  const first = (type: string) => {
    const found = cert.subject.typesAndValues.find((tv) => tv.type === type);
    const value = found?.value.valueBlock.value;
    return typeof value === 'string' ? value : undefined;
  };
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  const emails: string[] = [];
  let ca = false;
  for (const ext of cert.extensions ?? []) {
    if (ext.extnID === '2.5.29.17') {
      const altName = pkijs.AltName.fromBER(ext.extnValue.valueBlock.valueHexView);
      for (const name of altName.altNames) {
        if (name.type === 1) emails.push(String(name.value));
        else if (name.type === 2) dnsNames.push(String(name.value));
        else if (name.type === 6) uris.push(String(name.value));
        else if (name.type === 7) ipAddresses.push(hex(name.value.valueBlock.valueHexView));
      }
    }
    if (ext.extnID === '2.5.29.19') {
      ca = pkijs.BasicConstraints.fromBER(ext.extnValue.valueBlock.valueHexView).cA === true;
    }
  }
  return {
    serial: serialText(new Uint8Array(cert.serialNumber.valueBlock.valueHexView)),
    notBefore: cert.notBefore.value.getTime(),
    notAfter: cert.notAfter.value.getTime(),
    commonName: first(OID_CN),
    organization: first(OID_O),
    dnsNames,
    ipAddresses,
    uris,
    emails,
    ca,
    keyAlgorithm: cert.subjectPublicKeyInfo.algorithm.algorithmId,
    keyBits: hex(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView),
  };
}

/** Splits Node's subjectAltName text (`DNS:a, IP Address:1.2.3.4, ...`; values with `,` come JSON-quoted). */
function splitAltNames(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const kind = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      next = text.indexOf(', ', j);
    } else {
      next = text.indexOf(', ', colon);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    out.push([kind, value]);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/** Reads one RFC 2253-escaped value of Node's multi-line subject (`CN=a\, b`). */
function unescapeDn(value: string): string {
  // OpenSSL escapes control characters as `\XX` (hex) and RFC 2253 specials as `\c`.
  return value.replace(/\\([0-9A-Fa-f]{2})|\\(.)/g, (_m, code: string | undefined, c: string | undefined) =>
    code ? String.fromCharCode(Number.parseInt(code, 16)) : c!,
  );
}

/** Node's (OpenSSL's) reading, for what Node reports plainly; throws when OpenSSL cannot decode the DER. */
export function nodeFields(der: Uint8Array): CertificateFields {
  const cert = new X509Certificate(der);
  const lines = (cert.subject ?? '').split('\n');
  const first = (short: string) => {
    const line = lines.find((l) => l.startsWith(`${short}=`));
    // A multi-valued RDN prints as `CN=a + UID=b`: its first value is what certloop reads.
    return line === undefined ? undefined : unescapeDn(line.slice(short.length + 1).split(' + ')[0]!);
  };
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  const emails: string[] = [];
  for (const [kind, value] of splitAltNames(cert.subjectAltName ?? '')) {
    if (kind === 'DNS') dnsNames.push(value);
    else if (kind === 'IP Address') ipAddresses.push(ipHex(value.toLowerCase()));
    else if (kind === 'URI') uris.push(value);
    else if (kind === 'email') emails.push(value);
  }
  const spkiDer = new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
  const spki = readSpki(spkiDer);
  return {
    // Node prints the magnitude (upper-case hex, `-` first when negative), not two's complement.
    serial: cert.serialNumber.toLowerCase().replace(/^(-?)(00)+(?=.)/, '$1'),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    commonName: first('CN'),
    organization: first('O'),
    dnsNames,
    ipAddresses,
    uris,
    emails,
    ca: cert.ca,
    keyAlgorithm: spki.algorithmOid,
    keyBits: hex(spki.publicKeyBytes),
  };
}
