/**
 * `@certloop/core` GeneralNames (RFC 5280 4.2.1.6), as subjectAltName carries them: encode and decode DNS names,
 * IP addresses (IPv4 and IPv6, canonical text per RFC 5952), URIs and e-mail addresses.
 */
import { isIP } from 'node:net';
import { CertloopError } from '../errors.js';
import { children, content, type DerNode, derError, expectTag, latin1Text, parseDer, readOid, Tag } from './der.js';
import { type DerPart, type DerTree, derNode, derNodeOf, derText, encodeDer } from './der-tree.js';
import { decodeName } from './name.js';
import { derNodeArgument, optionalStringArray, requireObject } from './options.js';
import type { SubjectAltNames } from './types.js';

const GN = { rfc822Name: 0x81, dNSName: 0x82, uniformResourceIdentifier: 0x86, iPAddress: 0x87 } as const;

/**
 * The other GeneralName choices (RFC 5280 4.2.1.6): otherName [0], x400Address [3], directoryName [4],
 * ediPartyName [5] (constructed) and registeredID [8] (primitive). Any other tag is not a GeneralName.
 */
const OTHER_GENERAL_NAME_TAGS: ReadonlySet<number> = new Set([0xa0, 0xa3, 0xa4, 0xa5, 0x88]);

export interface DecodedGeneralNames extends SubjectAltNames {
  /** How many names of other kinds (otherName, directoryName, ...) were present and skipped. */
  readonly otherCount: number;
}

function invalidArgument(message: string, details: Record<string, unknown>): never {
  throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', message, { details });
}

/** Bytes of an IPv4 or IPv6 address in text form; undefined when not an address. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const family = isIP(text);
  if (family === 4) return new Uint8Array(text.split('.').map(Number));
  if (family !== 6 || text.includes('%')) return undefined;
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // A dotted IPv4 tail (`::ffff:1.2.3.4`) is the last two groups.
    const v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const leftGroups = parse(left);
  const rightGroups = parse(right);
  const groups =
    right === undefined
      ? leftGroups
      : [...leftGroups, ...new Array(8 - leftGroups.length - rightGroups.length).fill(0), ...rightGroups];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Canonical text of a 4- or 16-byte address: dotted quad, or RFC 5952 (lower case, longest zero run as `::`). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) {
    throw new CertloopError('CERTLOOP_INVALID_DER', `malformed DER: an IP address of ${bytes.length} bytes`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an IP address given as text; undefined when it is not one. */
export function canonicalIpAddress(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = parseIpAddress(text);
  return bytes ? formatIpAddress(bytes) : undefined;
}

/** True for a non-empty string of printable ASCII (0x20–0x7e); a loop, cheaper than a regular expression here. */
function isPrintableAscii(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function ia5(tag: number, value: string, kind: string): DerPart {
  // IA5String is 7-bit ASCII; internationalised names must arrive already in A-label / punycode form.
  if (typeof value !== 'string' || !isPrintableAscii(value)) {
    invalidArgument(`${kind} must be a non-empty ASCII string`, { kind });
  }
  return derText(tag, value);
}

/** Encodes names as a GeneralNames SEQUENCE (the subjectAltName extension's value). IPs are given as text. */
export function encodeGeneralNames(names: Partial<SubjectAltNames>): Uint8Array {
  return encodeDer(generalNamesTree(names));
}

/**
 * Internal: {@link encodeGeneralNames} as a DER tree, to be written inside a larger structure (the issuance path
 * writes the SAN straight into the TBSCertificate). Same checks, same bytes.
 */
export function generalNamesTree(names: Partial<SubjectAltNames>): DerTree {
  requireObject(names, 'subject alternative names');
  for (const key of ['dnsNames', 'ipAddresses', 'uris', 'emails'] as const) optionalStringArray(names[key], key);
  const parts: DerPart[] = [];
  for (const dns of names.dnsNames ?? []) parts.push(ia5(GN.dNSName, dns, 'dnsName'));
  for (const ip of names.ipAddresses ?? []) {
    const bytes = parseIpAddress(ip);
    if (!bytes) invalidArgument('not an IP address', { ipAddress: ip });
    parts.push(derNode(GN.iPAddress, bytes));
  }
  for (const uri of names.uris ?? []) parts.push(ia5(GN.uniformResourceIdentifier, uri, 'uri'));
  for (const email of names.emails ?? []) parts.push(ia5(GN.rfc822Name, email, 'email'));
  return derNodeOf(Tag.SEQUENCE, parts);
}

/**
 * The text of an IA5String GeneralName (dNSName, rfc822Name, URI): printable 7-bit ASCII, as the writer takes it. A
 * NUL inside a name is the null-prefix attack (`good.example\0.evil.test`), which OpenSSL refuses to match or print;
 * any other control character (a newline, DEL) is no part of a host name, mailbox or URI and would split a log line
 * or OpenSSL's printed list of names; a byte above 0x7f is not IA5 at all.
 */
function ia5Text(node: DerNode): string {
  const bytes = content(node);
  for (const byte of bytes) {
    if (byte < 0x20 || byte > 0x7e) derError('a GeneralName that is not printable IA5 text', 'string');
  }
  return latin1Text(bytes);
}

/** Checks one GeneralName element, given as a node (wrapped so the GeneralNames decoder checks it). */
export function checkGeneralName(node: DerNode): void {
  decodeGeneralNames({ ...node, tag: Tag.SEQUENCE, start: node.start, contentStart: node.start, end: node.end });
}

/** Decodes a GeneralNames SEQUENCE (node or DER); IPs come out in canonical text form. */
export function decodeGeneralNames(generalNames: DerNode | Uint8Array): DecodedGeneralNames {
  const node =
    generalNames instanceof Uint8Array ? parseDer(generalNames) : derNodeArgument(generalNames, 'GeneralNames');
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  const emails: string[] = [];
  let otherCount = 0;
  for (const name of children(expectTag(node, Tag.SEQUENCE, 'GeneralNames'))) {
    switch (name.tag) {
      case GN.dNSName:
        dnsNames.push(ia5Text(name));
        break;
      case GN.iPAddress:
        ipAddresses.push(formatIpAddress(content(name)));
        break;
      case GN.uniformResourceIdentifier:
        uris.push(ia5Text(name));
        break;
      case GN.rfc822Name:
        emails.push(ia5Text(name));
        break;
      default:
        // A name of an unknown kind is malformed, not skipped: skipping it would let the others count alone.
        if (!OTHER_GENERAL_NAME_TAGS.has(name.tag)) derError(`0x${name.tag.toString(16)} is not a GeneralName tag`);
        checkOtherGeneralName(name);
        otherCount++;
    }
  }
  return { dnsNames, ipAddresses, uris, emails, otherCount };
}

/**
 * The kinds certloop does not use are still checked for structure (OpenSSL refuses the whole extension when one
 * is malformed): otherName is an OID and one explicit value, directoryName one well-formed Name, registeredID
 * an OID; x400Address and ediPartyName must at least hold well-formed elements.
 */
function checkOtherGeneralName(name: DerNode): void {
  switch (name.tag) {
    case 0xa0: {
      const parts = children(name);
      if (parts.length !== 2 || parts[1]!.tag !== 0xa0 || children(parts[1]!).length !== 1) {
        derError('otherName must hold a type and one value');
      }
      readOid(parts[0]!);
      break;
    }
    case 0xa4: {
      const parts = children(name);
      if (parts.length !== 1) derError('directoryName must hold one Name');
      decodeName(parts[0]!);
      break;
    }
    case 0x88:
      readOid({ ...name, tag: Tag.OID });
      break;
    default:
      children(name);
  }
}

/** True when no name of any kind is listed. */
export function isEmptyAltNames(names: Partial<SubjectAltNames>): boolean {
  return !names.dnsNames?.length && !names.ipAddresses?.length && !names.uris?.length && !names.emails?.length;
}
