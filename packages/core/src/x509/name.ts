/**
 * `@certloop/core` distinguished names: encode a {@link DistinguishedName} to DER and decode any Name.
 *
 * Encoding writes one attribute per RDN in the conventional order C, ST, L, O, OU, CN (country as
 * PrintableString, the rest as UTF8String, as RFC 5280 asks of new certificates). Decoding keeps the exact DER
 * (issuer names are copied byte for byte) and renders RFC 4514 text, most specific first: `CN=x, O=y`.
 */
import { CertloopError } from '../errors.js';
import {
  children,
  content,
  type DerNode,
  derError,
  expectTag,
  isStringTag,
  oid,
  parseDer,
  readOid,
  readString,
  Tag,
  whole,
} from './der.js';
import { type DerPart, type DerTree, derNode, derNodeOf, derText, encodeDer } from './der-tree.js';
import { OID } from './oids.js';
import { derNodeArgument, requireObject } from './options.js';
import type { DistinguishedName } from './types.js';

type NameField = keyof DistinguishedName;
type MutableName = { -readonly [K in NameField]?: string };

/** Writing order, least specific first; each with its OID and RFC 4514 short name. */
const FIELD_LIST: readonly { field: NameField; oid: string; short: string }[] = [
  { field: 'country', oid: OID.country, short: 'C' },
  { field: 'state', oid: OID.state, short: 'ST' },
  { field: 'locality', oid: OID.locality, short: 'L' },
  { field: 'organization', oid: OID.organization, short: 'O' },
  { field: 'organizationalUnit', oid: OID.organizationalUnit, short: 'OU' },
  { field: 'commonName', oid: OID.commonName, short: 'CN' },
];

const BY_OID = new Map(FIELD_LIST.map((f) => [f.oid, f]));

/** Short names for attributes certloop does not map to a field but still renders readably. */
const EXTRA_SHORT_NAMES: Readonly<Record<string, string>> = {
  [OID.emailAddress]: 'emailAddress',
  [OID.serialNumberAttr]: 'serialNumber',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

/** Upper bounds from RFC 5280's ub-* values; longer input is refused rather than written. */
const MAX_LENGTH: Readonly<Record<NameField, number>> = {
  commonName: 64,
  organization: 64,
  organizationalUnit: 64,
  country: 2,
  state: 128,
  locality: 128,
};

/** {@link FIELD_LIST} with each OID encoded and each length bound, for the writer (no lookup per field). */
const FIELDS = FIELD_LIST.map((f) => ({ ...f, oidDer: oid(f.oid), maxLength: MAX_LENGTH[f.field] }));

export interface DecodedName {
  readonly dn: DistinguishedName;
  /** RFC 4514 form, most specific RDN first (`CN=x, O=y`); empty string for an empty name. */
  readonly text: string;
  /** The Name exactly as encoded. */
  readonly der: Uint8Array;
}

/** Encodes `dn` as a DER Name. Empty fields are left out; an empty `dn` gives the empty Name. */
export function encodeName(dn: DistinguishedName): Uint8Array {
  return encodeDer(nameTree(dn));
}

/**
 * Internal: {@link encodeName} as a DER tree, to be written inside a larger structure (the issuance path writes the
 * subject straight into the TBSCertificate). Same checks, same bytes.
 */
export function nameTree(dn: DistinguishedName): DerTree {
  requireObject(dn, 'a distinguished name');
  const rdns: DerPart[] = [];
  // Each field read by name, in FIELDS' order (a read keyed by a varying name is a slow, megamorphic lookup).
  const values = [dn.country, dn.state, dn.locality, dn.organization, dn.organizationalUnit, dn.commonName];
  for (let i = 0; i < FIELDS.length; i++) {
    const value = values[i];
    if (value === undefined || value === '') continue;
    const { field, oidDer, maxLength } = FIELDS[i]!;
    if (typeof value !== 'string' || value.length > maxLength) {
      throw new CertloopError(
        'CERTLOOP_INVALID_ARGUMENT',
        `name attribute ${field} is not a string of allowed length`,
        {
          details: { field, limit: maxLength },
        },
      );
    }
    if (field === 'country' && !/^[A-Za-z]{2}$/.test(value)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'country must be a two-letter code', {
        details: { field },
      });
    }
    const encoded =
      field === 'country' ? derText(Tag.PRINTABLE_STRING, value.toUpperCase()) : derText(Tag.UTF8_STRING, value);
    // One attribute per RDN: the SET OF has one element, so there is nothing to sort.
    rdns.push(derNode(Tag.SET, derNode(Tag.SEQUENCE, oidDer, encoded)));
  }
  return derNodeOf(Tag.SEQUENCE, rdns);
}

/** RFC 4514 section 2.4 escaping. */
function escapeValue(value: string): string {
  let out = value.replace(/[\\"+,;<>]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Decodes a DER Name (a node of a larger structure, or standalone bytes). Unknown attribute types are kept in
 * `text` as `oid=#hex`; when an attribute repeats, `dn` holds its first value and `text` all of them.
 */
export function decodeName(name: DerNode | Uint8Array): DecodedName {
  const node = name instanceof Uint8Array ? parseDer(name) : derNodeArgument(name, 'name');
  return walkName(node, true);
}

/**
 * Internal: {@link decodeName} with every check made now and the RFC 4514 `text` rendered only when it is read
 * (the issuance path never reads it).
 */
export function decodeNameLazyText(node: DerNode): DecodedName {
  const { dn, der } = walkName(node, false);
  return new LazyTextName(node, dn, der);
}

class LazyTextName implements DecodedName {
  #text: string | undefined;
  constructor(
    readonly node: DerNode,
    readonly dn: DistinguishedName,
    readonly der: Uint8Array,
  ) {}

  get text(): string {
    this.#text ??= walkName(this.node, true).text;
    return this.#text;
  }
}

function walkName(node: DerNode, withText: boolean): DecodedName {
  expectTag(node, Tag.SEQUENCE, 'Name');
  const dn: MutableName = {};
  const rdnTexts: string[] = [];
  for (const rdn of children(node)) {
    const parts: string[] | undefined = withText ? [] : undefined;
    const atvs = children(expectTag(rdn, Tag.SET, 'RelativeDistinguishedName'));
    if (atvs.length === 0) derError('empty RelativeDistinguishedName');
    for (const atv of atvs) {
      const fields = children(expectTag(atv, Tag.SEQUENCE, 'AttributeTypeAndValue'));
      if (fields.length !== 2) derError('AttributeTypeAndValue must hold a type and one value');
      const [typeNode, valueNode] = fields as [DerNode, DerNode];
      const type = readOid(typeNode);
      const known = BY_OID.get(type);
      // Every attribute must hold a decodable string of a type OpenSSL accepts in a Name (an undecodable first CN
      // is an error, never skipped in favour of a second one). Unknown attribute types are shown as `oid=#hex`.
      if (!isStringTag(valueNode.tag)) derError(`attribute ${type} does not hold a string`, 'string');
      const value = readString(valueNode);
      if (known) setFirst(dn, known.field, value);
      if (!parts) continue;
      const short = known?.short ?? EXTRA_SHORT_NAMES[type];
      parts.push(short ? `${short}=${escapeValue(value)}` : `${type}=#${hex(whole(valueNode))}`);
    }
    if (parts) rdnTexts.push(parts.join('+'));
  }
  return { dn, text: withText ? rdnTexts.reverse().join(', ') : '', der: whole(node) };
}

/** `dn[field] = value` unless the field is already set (the first value wins), each field stored by name. */
function setFirst(dn: MutableName, field: NameField, value: string): void {
  switch (field) {
    case 'country':
      dn.country ??= value;
      break;
    case 'state':
      dn.state ??= value;
      break;
    case 'locality':
      dn.locality ??= value;
      break;
    case 'organization':
      dn.organization ??= value;
      break;
    case 'organizationalUnit':
      dn.organizationalUnit ??= value;
      break;
    case 'commonName':
      dn.commonName ??= value;
      break;
  }
}

/** True when the Name holds no RDN at all. */
export function isEmptyName(name: DerNode | Uint8Array): boolean {
  const node = name instanceof Uint8Array ? parseDer(name) : name;
  return content(node).length === 0;
}
