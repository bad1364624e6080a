/**
 * `certloop inspect` text: certificates, CSRs and keys laid out like `openssl x509 -text` and
 * `step certificate inspect` (subject, issuer, SANs, validity, key, extensions, fingerprints). Never key material.
 */
import type { InspectedCertificate, PublicKeyInfo, SubjectAltNames } from '@certloop/core';
import { shortDuration } from '../lib/durations.js';
import type { Colors } from '../lib/terminal.js';
import type { InspectedCsr, InspectedKey } from './read.js';

/** `ab:cd:ef`, upper case, as openssl prints serials, key ids and fingerprints. */
export function colonHex(hex: string): string {
  const even = hex.length % 2 ? `0${hex}` : hex;
  return (even.match(/../g) ?? []).join(':').toUpperCase();
}

const KEY_USAGE_TEXT: Record<string, string> = {
  digitalSignature: 'Digital Signature',
  nonRepudiation: 'Non Repudiation',
  keyEncipherment: 'Key Encipherment',
  dataEncipherment: 'Data Encipherment',
  keyAgreement: 'Key Agreement',
  keyCertSign: 'Certificate Sign',
  cRLSign: 'CRL Sign',
  encipherOnly: 'Encipher Only',
  decipherOnly: 'Decipher Only',
};
const EKU_TEXT: Record<string, string> = {
  serverAuth: 'TLS Web Server Authentication',
  clientAuth: 'TLS Web Client Authentication',
};

const utc = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const pad = (level: number) => '    '.repeat(level);

export function sansText(sans: SubjectAltNames): string | undefined {
  const parts = [
    ...sans.dnsNames.map((n) => `DNS:${n}`),
    ...sans.ipAddresses.map((n) => `IP Address:${n}`),
    ...sans.uris.map((n) => `URI:${n}`),
    ...sans.emails.map((n) => `email:${n}`),
  ];
  return parts.length ? parts.join(', ') : undefined;
}

function keyLines(key: PublicKeyInfo, level: number): string[] {
  return [
    `${pad(level)}Public Key Algorithm: ${key.type}`,
    `${pad(level + 1)}Public-Key: (${key.size} bit)`,
    ...(key.curve ? [`${pad(level + 1)}Curve: ${key.curve}`] : []),
  ];
}

export function renderCertificate(cert: InspectedCertificate, title: string, c: Colors, now: Date): string {
  const left = Math.floor((cert.notAfter.getTime() - now.getTime()) / 1000);
  const validity =
    now < cert.notBefore
      ? c.yellow('not yet valid')
      : left <= 0
        ? c.red(`expired ${shortDuration(-left)} ago`)
        : c.green(`${shortDuration(left)} left`);
  const ext: string[] = [
    `${pad(2)}X509v3 Basic Constraints:`,
    `${pad(3)}CA:${cert.isCA ? 'TRUE' : 'FALSE'}${cert.pathLength !== undefined ? `, pathlen:${cert.pathLength}` : ''}`,
  ];
  if (cert.keyUsage.length)
    ext.push(`${pad(2)}X509v3 Key Usage:`, `${pad(3)}${cert.keyUsage.map((k) => KEY_USAGE_TEXT[k] ?? k).join(', ')}`);
  if (cert.extKeyUsage.length)
    ext.push(
      `${pad(2)}X509v3 Extended Key Usage:`,
      `${pad(3)}${cert.extKeyUsage.map((k) => EKU_TEXT[k] ?? k).join(', ')}`,
    );
  if (cert.subjectKeyId) ext.push(`${pad(2)}X509v3 Subject Key Identifier:`, `${pad(3)}${colonHex(cert.subjectKeyId)}`);
  if (cert.authorityKeyId)
    ext.push(`${pad(2)}X509v3 Authority Key Identifier:`, `${pad(3)}keyid:${colonHex(cert.authorityKeyId)}`);
  const sans = sansText(cert.sans);
  if (sans) ext.push(`${pad(2)}X509v3 Subject Alternative Name:`, `${pad(3)}${sans}`);
  return [
    c.bold(`${title}:`),
    `${pad(1)}Serial Number: ${colonHex(cert.serialNumber)}`,
    `${pad(1)}Signature Algorithm: ${cert.signatureAlgorithm}`,
    `${pad(1)}Issuer: ${cert.issuerText}`,
    `${pad(1)}Validity:`,
    `${pad(2)}Not Before: ${utc(cert.notBefore)}`,
    `${pad(2)}Not After : ${utc(cert.notAfter)}  (${validity})`,
    `${pad(1)}Subject: ${cert.subjectText}`,
    `${pad(1)}Subject Public Key Info:`,
    ...keyLines(cert.publicKey, 2),
    `${pad(1)}X509v3 extensions:`,
    ...ext,
    `${pad(1)}Self-signed: ${cert.selfSigned ? 'yes' : 'no'}`,
    `${pad(1)}Fingerprint (SHA-256):`,
    `${pad(2)}${colonHex(cert.fingerprintSha256)}`,
    '',
  ].join('\n');
}

export function renderCsr(csr: InspectedCsr, c: Colors): string {
  const sans = sansText(csr.sans);
  return [
    c.bold('Certificate Request:'),
    `${pad(1)}Subject: ${csr.subjectText || '(empty)'}`,
    `${pad(1)}Subject Public Key Info:`,
    ...keyLines(csr.publicKey, 2),
    `${pad(1)}Requested Extensions:`,
    ...(sans ? [`${pad(2)}X509v3 Subject Alternative Name:`, `${pad(3)}${sans}`] : []),
    ...(csr.basicConstraints
      ? [`${pad(2)}X509v3 Basic Constraints:`, `${pad(3)}CA:${csr.basicConstraints.ca ? 'TRUE' : 'FALSE'}`]
      : []),
    ...csr.requestedExtensions
      .filter((e) => e.oid !== '2.5.29.17' && e.oid !== '2.5.29.19')
      .map((e) => `${pad(2)}${e.oid}${e.critical ? ' (critical)' : ''}`),
    `${pad(1)}Signature Algorithm: ${csr.signatureAlgorithm}`,
    `${pad(1)}Signature: ${csr.signatureValid ? c.green('valid (proof of possession)') : c.red('INVALID')}`,
    '',
  ].join('\n');
}

export function renderKey(key: InspectedKey, c: Colors, matches?: boolean): string {
  return [
    c.bold('Private Key:'),
    ...keyLines(key.publicKey, 1),
    `${pad(1)}Public Key Fingerprint (SHA-256):`,
    `${pad(2)}${colonHex(key.publicKeyFingerprintSha256)}`,
    ...(matches === undefined ? [] : [`${pad(1)}Matches the certificate: ${matches ? c.green('yes') : c.red('NO')}`]),
    '',
  ].join('\n');
}
