/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): CRLs to break on purpose (edited as a tree and
 * signed again with the issuer's key), and what OpenSSL's decoder (`openssl crl`) and asn1js/pkijs read from a CRL,
 * in the shape certloop's `parseCrl` gives, for differential tests.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as pkijs from 'pkijs';
import { prepareIssuer } from '../certificate-builder.js';
import type { ParsedCrl } from '../crl.js';
import { buildCrl, type CrlEntryInput } from '../crl-writer.js';
import { oid, seq, setOf, utf8String } from '../der.js';
import { cloneTree, type EditNode, encodeTree } from './der-edit.js';
import { serialText } from './oracle.js';
import { signedPart, signWrapped } from './resign.js';

export interface CrlFixture {
  readonly der: Uint8Array;
  readonly keyPem: string;
  /** The TBSCertList as an editable tree. */
  readonly signed: EditNode;
}

/** TBSCertList fields of a certloop CRL with entries, by position. */
export const C = { version: 0, signature: 1, issuer: 2, thisUpdate: 3, nextUpdate: 4, revoked: 5, extensions: 6 };

/** A certloop (pkijs-built) v2 CRL: AKI and cRLNumber, one entry with a reason and one without. */
export async function crlFixture(
  entries: readonly CrlEntryInput[] = [
    { serialNumber: '0a1b', revokedAt: new Date('2025-12-01T00:00:00Z'), reason: 'keyCompromise' },
    { serialNumber: '7f', revokedAt: new Date('2025-12-02T00:00:00Z') },
  ],
): Promise<CrlFixture> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuer = await prepareIssuer({
    nameDer: seq(
      setOf(seq(oid('2.5.4.3'), utf8String('crl issuer'))),
      setOf(seq(oid('2.5.4.10'), utf8String('certloop'))),
    ),
    keyIdentifier: new Uint8Array([1, 2, 3, 4]),
    pkcs8Der: privateKey.export({ format: 'der', type: 'pkcs8' }),
    info: { type: 'ECDSA', size: 256, curve: 'P-256' },
  });
  const { der } = await buildCrl({
    issuer,
    crlNumber: 7,
    thisUpdate: new Date('2026-01-01T00:00:00Z'),
    nextUpdate: new Date('2026-02-01T00:00:00Z'),
    entries,
  });
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  return { der, keyPem, signed: signedPart(der) };
}

/** Edits a copy of the TBSCertList and signs it again: the DER of the result. */
export function resignedCrl(fixture: CrlFixture, edit: (tbs: EditNode) => void): Uint8Array {
  const copy = cloneTree(fixture.signed);
  edit(copy);
  return signWrapped(encodeTree(copy), fixture.keyPem);
}

/** What every reader must agree on. */
export interface CrlFields {
  readonly thisUpdate: number;
  readonly nextUpdate: number | undefined;
  /** Revoked serials, lower-case magnitude hex, sorted. */
  readonly revoked: readonly string[];
  readonly crlNumber: string | undefined;
}

const hex = (bytes: ArrayLike<number>) => Buffer.from(bytes as Uint8Array).toString('hex');
/** A serial as certloop shows it (magnitude hex, `-` first when negative), from hex text with or without a sign. */
const magnitude = (text: string) => {
  const negative = text.startsWith('-');
  const digits =
    text
      .replace(/^-/, '')
      .toLowerCase()
      .replace(/^(00)+(?=.)/, '') || '00';
  return negative ? `-${digits}` : digits;
};

export function certloopCrlFields(crl: ParsedCrl): CrlFields {
  return {
    thisUpdate: crl.thisUpdate.getTime(),
    nextUpdate: crl.nextUpdate?.getTime(),
    revoked: [...crl.revoked.keys()].map(magnitude).sort(),
    crlNumber: crl.crlNumber === undefined ? undefined : BigInt(`0x${crl.crlNumber}`).toString(16),
  };
}

/** asn1js/pkijs's reading (throws when pkijs cannot decode it). */
export function pkijsCrlFields(der: Uint8Array): CrlFields {
  const crl = pkijs.CertificateRevocationList.fromBER(der);
  const number = crl.crlExtensions?.extensions.find((e) => e.extnID === '2.5.29.20');
  const numberValue = number?.parsedValue as { valueBlock?: { valueHexView?: Uint8Array } } | undefined;
  return {
    thisUpdate: crl.thisUpdate.value.getTime(),
    nextUpdate: crl.nextUpdate?.value.getTime(),
    revoked: (crl.revokedCertificates ?? [])
      .map((entry) => serialText(new Uint8Array(entry.userCertificate.valueBlock.valueHexView)))
      .sort(),
    crlNumber: numberValue?.valueBlock?.valueHexView
      ? BigInt(`0x${hex(numberValue.valueBlock.valueHexView) || '0'}`).toString(16)
      : undefined,
  };
}

/** OpenSSL's reading, from `openssl crl -text` (throws when OpenSSL refuses it or cannot decode a part of it). */
export function opensslCrlFields(der: Uint8Array): CrlFields {
  const text = execFileSync('/usr/bin/openssl', ['crl', '-inform', 'DER', '-noout', '-text'], {
    input: der,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (/unable to|error|<bad|Bad /i.test(text)) throw new Error(`openssl could not decode a part:\n${text}`);
  const date = (label: string) => {
    const m = new RegExp(`${label}: (.+ GMT)`).exec(text);
    return m ? Date.parse(m[1]!) : undefined;
  };
  const number = /X509v3 CRL Number: *\n\s+(\S+)/.exec(text)?.[1];
  return {
    thisUpdate: date('Last Update')!,
    nextUpdate: date('Next Update'),
    revoked: [...text.matchAll(/Serial Number: (-?[0-9A-F]+)/g)].map((m) => magnitude(m[1]!)).sort(),
    crlNumber: number === undefined ? undefined : BigInt(number).toString(16),
  };
}
