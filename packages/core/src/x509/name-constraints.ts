/**
 * Internal (`@certloop/core` x509): name constraints (RFC 5280 4.2.1.10 and 6.1.3 (b), (c)).
 *
 * A CA's permitted and excluded subtrees apply to the names of every certificate below it: the subjectAltName
 * entries, the subject DN (as a directoryName), e-mail addresses in the subject DN (as rfc822Names) and, for a leaf
 * without DNS SANs, every CN a TLS client could match (Node's `checkServerIdentity` and OpenSSL's
 * `X509_check_host` fall back to the CN). A dNSName or CN is checked as the set of hostnames it can match (see
 * {@link dnsPattern}): wildcards in any position of the first label, trailing dots and case included. Supported forms:
 * dNSName, iPAddress (v4 and v6 with masks), rfc822Name (mailbox, host and domain forms), URI (host part) and
 * directoryName. A name of another form, or one that cannot be read for its form (a URI without a host, an IP
 * literal URI, an e-mail without `@`), under a constraint of that form cannot be checked and is refused with its
 * own code. The encoder writes the subtrees certloop's CA puts on the intermediates it issues.
 */
import { isIP } from 'node:net';
import { CertloopError, type CertloopErrorCode } from '../errors.js';
import {
  children,
  content,
  contextTag,
  type DerNode,
  derError,
  eachTaggedField,
  expectTag,
  parseDer,
  readOid,
  readSmallInteger,
  readString,
  seq,
  Tag,
  tlv,
  whole,
} from './der.js';
import { checkGeneralName, parseIpAddress } from './general-names.js';
import { OID } from './oids.js';
import { optionalObject, optionalStringArray, requireObject } from './options.js';
import type { SubjectAltNames } from './types.js';

/** GeneralName tags (context-specific, as they appear in a GeneralName CHOICE). */
export const GENERAL_NAME_TAG = {
  otherName: 0xa0,
  rfc822Name: 0x81,
  dNSName: 0x82,
  x400Address: 0xa3,
  directoryName: 0xa4,
  ediPartyName: 0xa5,
  uniformResourceIdentifier: 0x86,
  iPAddress: 0x87,
  registeredID: 0x88,
} as const;

const SUPPORTED: ReadonlySet<number> = new Set([0x81, 0x82, 0xa4, 0x86, 0x87]);
const KIND: Readonly<Record<number, string>> = {
  160: 'otherName',
  129: 'email',
  130: 'dns',
  163: 'x400Address',
  164: 'directoryName',
  165: 'ediPartyName',
  134: 'uri',
  135: 'ip',
  136: 'registeredID',
};

/** One name of a certificate or one subtree base, by GeneralName tag. */
export interface TaggedName {
  readonly tag: number;
  /** dNSName, rfc822Name, URI: the IA5 text. */
  readonly text?: string;
  /** iPAddress: the address (4 or 16 bytes) or, in a subtree, address and mask (8 or 32 bytes). */
  readonly bytes?: Uint8Array;
  /** directoryName: the RDNs, each normalised for comparison. */
  readonly rdns?: readonly string[];
  /** Where the name came from, for error details. */
  readonly source?: 'san' | 'subject' | 'cn';
}

export interface NameConstraints {
  readonly permitted: readonly TaggedName[];
  readonly excluded: readonly TaggedName[];
  /** The same subtrees grouped by GeneralName tag, text bases lower-cased (what the checks read). */
  readonly byTag: ReadonlyMap<number, { readonly permitted: TaggedName[]; readonly excluded: TaggedName[] }>;
}

const latin1 = new TextDecoder('latin1');
const encoder = new TextEncoder();

function malformed(message: string): never {
  throw new CertloopError('CERTLOOP_INVALID_DER', `malformed name constraints: ${message}`);
}

/** A normalised RDN: its attributes as `oid=value`, sorted; string values case-folded with spaces collapsed. */
function normaliseRdn(rdn: DerNode): string {
  const parts: string[] = [];
  for (const atv of children(expectTag(rdn, Tag.SET, 'RelativeDistinguishedName'))) {
    const [type, value] = children(expectTag(atv, Tag.SEQUENCE, 'AttributeTypeAndValue'));
    if (!type || !value) malformed('attribute without a value');
    let text: string;
    try {
      text = `"${readString(value).trim().replace(/\s+/g, ' ').toLowerCase()}`;
    } catch {
      text = `#${Buffer.from(whole(value)).toString('hex')}`;
    }
    parts.push(`${readOid(type)}=${text}`);
  }
  return parts.sort().join('+');
}

function nameRdns(name: DerNode): string[] {
  return children(expectTag(name, Tag.SEQUENCE, 'Name')).map(normaliseRdn);
}

/** Reads one GeneralName element. */
export function readGeneralName(node: DerNode, source?: TaggedName['source']): TaggedName {
  const base = source ? { source } : {};
  switch (node.tag) {
    case GENERAL_NAME_TAG.dNSName:
    case GENERAL_NAME_TAG.rfc822Name:
    case GENERAL_NAME_TAG.uniformResourceIdentifier:
      return { tag: node.tag, text: latin1.decode(content(node)), ...base };
    case GENERAL_NAME_TAG.iPAddress:
      return { tag: node.tag, bytes: content(node), ...base };
    case GENERAL_NAME_TAG.directoryName: {
      const inner = children(node);
      if (inner.length !== 1) malformed('directoryName must hold one Name');
      return { tag: node.tag, rdns: nameRdns(inner[0]!), ...base };
    }
    default:
      return { tag: node.tag, ...base };
  }
}

/** One GeneralSubtree as encoded: its base and, when present, its minimum and maximum. */
export interface EncodedSubtree {
  readonly base: DerNode;
  readonly minimum?: number;
  readonly maximum?: number;
}

/**
 * Reads the structure of a nameConstraints value as OpenSSL decodes it: [0] permitted and/or [1] excluded
 * GeneralSubtrees, in that order, none empty; each GeneralSubtree a GeneralName base (an iPAddress base of 8 or 32
 * octets: address and mask) and optional [0] minimum (never its DEFAULT 0) and [1] maximum. An empty
 * NameConstraints passes (OpenSSL decodes it; RFC 5280 forbids CAs to issue it, decodeNameConstraints refuses it).
 * Throws `CERTLOOP_INVALID_DER` when malformed. The certificate parser checks every nameConstraints with it.
 */
export function readNameConstraintsStructure(value: Uint8Array): {
  readonly permitted: readonly EncodedSubtree[];
  readonly excluded: readonly EncodedSubtree[];
} {
  const out: { permitted: EncodedSubtree[]; excluded: EncodedSubtree[] } = { permitted: [], excluded: [] };
  const fields = children(expectTag(parseDer(value), Tag.SEQUENCE, 'NameConstraints'));
  eachTaggedField(fields, [0xa0, 0xa1], 'NameConstraints fields', (subtrees, index) => {
    const list = children(subtrees);
    if (list.length === 0) derError('empty GeneralSubtrees');
    for (const subtree of list) {
      const [base, ...rest] = children(expectTag(subtree, Tag.SEQUENCE, 'GeneralSubtree'));
      if (!base) derError('GeneralSubtree without a base');
      // An iPAddress base is an address and a mask: 8 or 32 octets.
      if (base.tag === GENERAL_NAME_TAG.iPAddress) {
        if (base.end - base.contentStart !== 8 && base.end - base.contentStart !== 32)
          derError('bad iPAddress constraint');
      } else checkGeneralName(base);
      let minimum: number | undefined;
      let maximum: number | undefined;
      eachTaggedField(rest, [0x80, 0x81], 'GeneralSubtree bounds', (field, at) => {
        const amount = readSmallInteger({ ...field, tag: Tag.INTEGER });
        if (at === 0 && amount === 0) derError('GeneralSubtree encodes its DEFAULT minimum', 'default-encoded');
        if (at === 0) minimum = amount;
        else maximum = amount;
      });
      const entry: EncodedSubtree = {
        base,
        ...(minimum !== undefined ? { minimum } : {}),
        ...(maximum !== undefined ? { maximum } : {}),
      };
      out[index === 0 ? 'permitted' : 'excluded'].push(entry);
    }
  });
  return out;
}

function readSubtrees(subtrees: readonly EncodedSubtree[]): TaggedName[] {
  return subtrees.map(({ base, minimum, maximum }) => {
    // RFC 5280: minimum MUST be zero (and is then left out, DER), maximum MUST be absent.
    if (minimum !== undefined || maximum !== undefined) malformed('GeneralSubtree minimum or maximum present');
    const name = readGeneralName(base);
    if (name.tag === GENERAL_NAME_TAG.iPAddress) checkIpSubtree(name.bytes!);
    return name;
  });
}

function checkIpSubtree(bytes: Uint8Array): void {
  if (bytes.length !== 8 && bytes.length !== 32) malformed(`iPAddress subtree of ${bytes.length} bytes`);
  // The mask must be a prefix (ones then zeros), as Go and rustls require.
  const mask = bytes.subarray(bytes.length / 2);
  let zero = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && zero) malformed('iPAddress mask is not a prefix');
      if (!set) zero = true;
    }
  }
}

/** Decodes the nameConstraints extension value. Throws `CERTLOOP_INVALID_DER` when malformed. */
export function decodeNameConstraints(value: Uint8Array): NameConstraints {
  const structure = readNameConstraintsStructure(value);
  const permitted = readSubtrees(structure.permitted);
  const excluded = readSubtrees(structure.excluded);
  // RFC 5280: the extension MUST NOT be an empty sequence.
  if (permitted.length + excluded.length === 0) malformed('no subtrees');
  const byTag = new Map<number, { permitted: TaggedName[]; excluded: TaggedName[] }>();
  const group = (base: TaggedName, list: 'permitted' | 'excluded') => {
    let entry = byTag.get(base.tag);
    if (!entry) {
      entry = { permitted: [], excluded: [] };
      byTag.set(base.tag, entry);
    }
    // mailbox local parts are case-sensitive: rfc822Name bases keep their case, the matcher folds the host
    const folded = base.text !== undefined && base.tag !== GENERAL_NAME_TAG.rfc822Name;
    entry[list].push(folded ? { ...base, text: stripDot(base.text!.toLowerCase()) } : base);
  };
  for (const base of permitted) group(base, 'permitted');
  for (const base of excluded) group(base, 'excluded');
  return { permitted, excluded, byTag };
}

/** A trailing dot (absolute DNS name) removed. */
function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

// ------------------------------------------------------------------ the names a certificate carries

/**
 * Which CNs of a leaf without dNSName SANs are checked as DNS names: none (a CA, or a leaf with dNSName SANs);
 * `hostname-like` ones (a dot or a `*` in them: a client-only leaf, which no TLS client accepts as a server, though
 * OpenSSL checks such CNs too); or `any` CN a TLS client could match (a leaf that may serve TLS: no extended key
 * usage, or serverAuth or anyExtendedKeyUsage among them), single labels (`localhost`) included.
 */
export type CnFallback = 'none' | 'hostname-like' | 'any';

/** The CN fallback of a leaf (see {@link CnFallback}) from its extended key usages (undefined: none present). */
export function leafCnFallback(extKeyUsage: readonly string[] | undefined): CnFallback {
  if (!extKeyUsage) return 'any';
  return extKeyUsage.includes('serverAuth') || extKeyUsage.includes('anyExtendedKeyUsage') ? 'any' : 'hostname-like';
}

/**
 * Whether a CN is one Node's `checkServerIdentity` could match as a hostname pattern: printable ASCII with no
 * space (Node refuses any other label) and not an IP literal (Node checks an IP host against IP SANs only). OpenSSL
 * checks only multi-label LDH CNs, which lets `CN=*.evil.example.com` and `CN=evil.example.com.` through.
 */
function hostnameCn(text: string, fallback: CnFallback): boolean {
  if (text === '' || !/^[\x21-\x7f]+$/.test(text) || isIP(stripDot(text)) !== 0) return false;
  return fallback === 'any' || stripDot(text).includes('.') || text.includes('*');
}

/** The GeneralName tags some subtree of `constraints` names: only names of these forms need reading. */
export function constrainedTags(constraints: readonly NameConstraints[]): ReadonlySet<number> {
  const tags = new Set<number>();
  for (const c of constraints) for (const base of [...c.permitted, ...c.excluded]) tags.add(base.tag);
  return tags;
}

/**
 * The names constraints apply to: the SANs (`subjectAltName` value, when present), the subject DN when not empty,
 * its e-mail attributes and, when no dNSName SAN is present, the CNs `cn` asks for (see {@link CnFallback}). With
 * `wanted`, only names of those forms are read (the others cannot meet a constraint).
 */
export function constrainedNames(
  subject: DerNode,
  subjectAltName: Uint8Array | undefined,
  cn: CnFallback,
  wanted?: ReadonlySet<number>,
): TaggedName[] {
  const out: TaggedName[] = [];
  let hasDns = false;
  if (subjectAltName) {
    for (const node of children(expectTag(parseDer(subjectAltName), Tag.SEQUENCE, 'GeneralNames'))) {
      if (node.tag === GENERAL_NAME_TAG.dNSName) hasDns = true;
      if (!wanted || wanted.has(node.tag)) out.push(readGeneralName(node, 'san'));
    }
  }
  return subjectNames(subject, hasDns ? 'none' : cn, wanted, out);
}

/** SANs given as text (as a CSR's are read), as names to check; only the `wanted` forms. */
export function altNames(sans: SubjectAltNames, wanted: ReadonlySet<number>): TaggedName[] {
  const out: TaggedName[] = [];
  const text = (tag: number, values: readonly string[]) => {
    if (wanted.has(tag)) for (const value of values) out.push({ tag, text: value, source: 'san' });
  };
  text(GENERAL_NAME_TAG.dNSName, sans.dnsNames);
  text(GENERAL_NAME_TAG.rfc822Name, sans.emails);
  text(GENERAL_NAME_TAG.uniformResourceIdentifier, sans.uris);
  if (wanted.has(GENERAL_NAME_TAG.iPAddress)) {
    for (const ip of sans.ipAddresses) {
      const bytes = parseIpAddress(ip);
      if (bytes) out.push({ tag: GENERAL_NAME_TAG.iPAddress, bytes, source: 'san' });
    }
  }
  return out;
}

/**
 * Adds to `out` the subject's names: the DN itself, its e-mail attributes and the CNs `cn` asks for, as dNSNames
 * (see {@link CnFallback}; the caller passes 'none' when the certificate has dNSName SANs).
 */
export function subjectNames(
  subject: DerNode,
  cn: CnFallback,
  wanted: ReadonlySet<number> | undefined,
  out: TaggedName[] = [],
): TaggedName[] {
  const rdns = children(expectTag(subject, Tag.SEQUENCE, 'Name'));
  if (rdns.length === 0) return out;
  if (!wanted || wanted.has(GENERAL_NAME_TAG.directoryName)) {
    out.push({ tag: GENERAL_NAME_TAG.directoryName, rdns: rdns.map(normaliseRdn), source: 'subject' });
  }
  const wantEmail = !wanted || wanted.has(GENERAL_NAME_TAG.rfc822Name);
  const wantCn = cn !== 'none' && (!wanted || wanted.has(GENERAL_NAME_TAG.dNSName));
  if (!wantEmail && !wantCn) return out;
  for (const rdn of rdns) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (!type || !value) continue;
      const oid = readOid(type);
      if (!(wantEmail && oid === OID.emailAddress) && !(wantCn && oid === OID.commonName)) continue;
      let text: string;
      try {
        text = readString(value);
      } catch {
        // a CN that cannot be read cannot be shown to be outside a DNS constraint (checkNameConstraints refuses it)
        if (oid === OID.commonName) out.push({ tag: GENERAL_NAME_TAG.dNSName, source: 'cn' });
        continue;
      }
      if (oid === OID.emailAddress) out.push({ tag: GENERAL_NAME_TAG.rfc822Name, text, source: 'subject' });
      else if (hostnameCn(text, cn)) out.push({ tag: GENERAL_NAME_TAG.dNSName, text, source: 'cn' });
    }
  }
  return out;
}

// ------------------------------------------------------------------ matching

class Unsupported extends Error {}

/**
 * A dNSName or CN as the set of hostnames TLS clients match it against, over-approximating Node's
 * `checkServerIdentity` and OpenSSL's `X509_check_host` (both case-insensitive, both ignoring one trailing dot):
 * the pattern itself, as a literal host; and, when its first label holds a `*`, every host made of a label matching
 * that first label as a glob (`*`: any run of characters without a dot) followed by the pattern's other labels.
 * Node takes one `*` anywhere in the first label (`ev*.example.com`, `*il.example.com`, `e*l.example.com`),
 * OpenSSL one at its start or end; a glob of every `*` covers both, and any label count (both want three labels
 * or more) only widens the set. A `*` in a later label is literal for both.
 */
interface DnsPattern {
  /** Lower-cased, one trailing dot removed: the host that matches the pattern literally. */
  readonly literal: string;
  /** The first label when it holds a `*` (the glob), else undefined. */
  readonly glob?: string;
  /** With a glob: what follows the first label, its leading dot included (`.example.com`, or '' for one label). */
  readonly suffix?: string;
}

function dnsPattern(raw: string): DnsPattern {
  const literal = stripDot(raw.toLowerCase());
  const dot = literal.indexOf('.');
  const first = dot < 0 ? literal : literal.slice(0, dot);
  if (!first.includes('*')) return { literal };
  return { literal, glob: first, suffix: dot < 0 ? '' : literal.slice(dot) };
}

/**
 * Whether `label` (no dot) matches `glob`, where each `*` stands for any run of characters: the greedy
 * backtracking-to-last-star algorithm, O(|glob| x |label|) at worst, never exponential (no regular expression).
 */
function globMatches(glob: string, label: string): boolean {
  let g = 0;
  let l = 0;
  let star = -1;
  let mark = 0;
  while (l < label.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === label[l]) {
      g++;
      l++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = l;
    } else if (star >= 0) {
      g = star + 1;
      l = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** RFC 5280 DNS subtree membership of one host; `base` lower-cased without a trailing dot. */
function hostInSubtree(host: string, base: string): boolean {
  if (base === '') return true;
  if (base.startsWith('.')) return host.endsWith(base) && host.length > base.length;
  return host === base || host.endsWith(`.${base}`);
}

/** Whether some host the pattern matches lies in the subtree `base` (used against excluded subtrees). */
function patternMeetsSubtree(pattern: DnsPattern, base: string): boolean {
  if (hostInSubtree(pattern.literal, base)) return true;
  if (pattern.glob === undefined) return false;
  const suffix = pattern.suffix!;
  if (base === '') return true;
  // hosts are G + suffix with G a dot-free label: a base's dots all fall in the suffix, or the base is one such host
  if (base.startsWith('.')) return suffix.endsWith(base);
  if (suffix.endsWith(`.${base}`)) return true;
  return base.endsWith(suffix) && !base.slice(0, base.length - suffix.length).includes('.')
    ? globMatches(pattern.glob, base.slice(0, base.length - suffix.length))
    : false;
}

/**
 * Whether every host the pattern matches lies in the subtree `base` (used against permitted subtrees). A glob
 * stands for infinitely many first labels, so no finite union of subtrees covers it unless one of them does.
 */
function patternWithinSubtree(pattern: DnsPattern, base: string): boolean {
  if (!hostInSubtree(pattern.literal, base)) return false;
  if (pattern.glob === undefined || base === '') return true;
  const suffix = pattern.suffix!;
  return base.startsWith('.') ? suffix.endsWith(base) : suffix.endsWith(`.${base}`);
}

function hostMatches(host: string, rawBase: string): boolean {
  const base = rawBase.toLowerCase();
  if (base.startsWith('.')) return host.endsWith(base) && host.length > base.length;
  return host === base;
}

function emailMatches(email: string, base: string): boolean {
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) throw new Unsupported('an rfc822Name without local part and host');
  const host = email.slice(at + 1).toLowerCase();
  if (base.includes('@')) {
    const baseAt = base.lastIndexOf('@');
    return email.slice(0, at) === base.slice(0, baseAt) && host === base.slice(baseAt + 1).toLowerCase();
  }
  return hostMatches(host, base);
}

// RFC 3986: scheme "://" [userinfo "@"] host [":" port] ...; the host is what URI constraints apply to.
const URI_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::\d*)?(?:[/?#]|$)/i;

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function uriHost(uri: string): string {
  const match = URI_AUTHORITY.exec(uri);
  if (!match) throw new Unsupported('a URI without a host');
  const host = match[1]!.toLowerCase().replace(/\.$/, '');
  if (!host) throw new Unsupported('a URI without a host');
  if (host.startsWith('[') || IPV4.test(host)) throw new Unsupported('a URI whose host is an IP address');
  if (host.includes('%')) throw new Unsupported('a URI with a percent-encoded host');
  return host;
}

function ipMatches(address: Uint8Array, subtree: Uint8Array): boolean {
  if (address.length * 2 !== subtree.length) return false;
  const n = address.length;
  for (let i = 0; i < n; i++) {
    const mask = subtree[n + i]!;
    if ((address[i]! & mask) !== (subtree[i]! & mask)) return false;
  }
  return true;
}

function dnMatches(rdns: readonly string[], base: readonly string[]): boolean {
  if (base.length > rdns.length) return false;
  return base.every((rdn, i) => rdns[i] === rdn);
}

function matches(name: TaggedName, base: TaggedName, excluded: boolean): boolean {
  switch (name.tag) {
    case GENERAL_NAME_TAG.dNSName: {
      if (name.text === undefined) throw new Unsupported('a CN that cannot be read');
      const pattern = dnsPattern(name.text);
      return excluded ? patternMeetsSubtree(pattern, base.text!) : patternWithinSubtree(pattern, base.text!);
    }
    case GENERAL_NAME_TAG.rfc822Name:
      return emailMatches(name.text!, base.text!);
    case GENERAL_NAME_TAG.uniformResourceIdentifier:
      return hostMatches(uriHost(name.text!), base.text!);
    case GENERAL_NAME_TAG.iPAddress:
      if (name.bytes!.length !== 4 && name.bytes!.length !== 16) throw new Unsupported('an iPAddress of odd length');
      return ipMatches(name.bytes!, base.bytes!);
    case GENERAL_NAME_TAG.directoryName:
      return dnMatches(name.rdns!, base.rdns!);
    default:
      throw new Unsupported(`a ${KIND[name.tag] ?? 'unknown'} name`);
  }
}

/** A name outside the constraints: the code to throw and what to say. */
export interface NameConstraintFailure {
  readonly code: Extract<
    CertloopErrorCode,
    'CERTLOOP_CHAIN_NAME_CONSTRAINTS' | 'CERTLOOP_CHAIN_NAME_CONSTRAINTS_UNSUPPORTED'
  >;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

function describe(name: TaggedName): string {
  if (name.text !== undefined) return name.text;
  if (name.bytes) return Array.from(name.bytes).join(name.bytes.length === 4 ? '.' : ':');
  if (name.rdns) return name.rdns.join(',');
  return `(${KIND[name.tag] ?? name.tag})`;
}

/** Checks `names` against one CA's constraints; gives the first failure, or undefined when all names pass. */
export function checkNameConstraints(
  names: readonly TaggedName[],
  constraints: NameConstraints,
): NameConstraintFailure | undefined {
  for (const name of names) {
    const subtrees = constraints.byTag.get(name.tag);
    if (!subtrees) continue;
    const { permitted, excluded } = subtrees;
    if (permitted.length === 0 && excluded.length === 0) continue;
    const details = () => ({ kind: KIND[name.tag] ?? String(name.tag), name: describe(name), source: name.source });
    if (!SUPPORTED.has(name.tag)) {
      const d = details();
      return {
        code: 'CERTLOOP_CHAIN_NAME_CONSTRAINTS_UNSUPPORTED',
        message: `a ${d.kind} name under a ${d.kind} constraint cannot be checked`,
        details: d,
      };
    }
    try {
      if (excluded.some((base) => matches(name, base, true))) {
        return {
          code: 'CERTLOOP_CHAIN_NAME_CONSTRAINTS',
          message: `${details().kind} name in an excluded subtree`,
          details: { ...details(), reason: 'excluded' },
        };
      }
      if (permitted.length > 0 && !permitted.some((base) => matches(name, base, false))) {
        return {
          code: 'CERTLOOP_CHAIN_NAME_CONSTRAINTS',
          message: `${details().kind} name outside the permitted subtrees`,
          details: { ...details(), reason: 'not-permitted' },
        };
      }
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      return {
        code: 'CERTLOOP_CHAIN_NAME_CONSTRAINTS_UNSUPPORTED',
        message: `${err.message} cannot be checked`,
        details: details(),
      };
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ encoding

/** Subtrees for a CA certificate, by kind. DNS: `example.com` (and below) or `.example.com` (below only). */
export interface NameSubtrees {
  readonly dnsNames?: readonly string[];
  /** CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses. */
  readonly ipRanges?: readonly string[];
  /** Mailbox (`a@example.com`), host (`example.com`) or domain (`.example.com`). */
  readonly emails?: readonly string[];
  /** URI hosts: `host.example.com` or `.example.com`. */
  readonly uriHosts?: readonly string[];
}

export interface NameConstraintsInput {
  readonly permitted?: NameSubtrees;
  readonly excluded?: NameSubtrees;
}

function invalidConfig(message: string, details: Record<string, unknown>): never {
  throw new CertloopError('CERTLOOP_INVALID_CONFIG', message, { details });
}

function ipSubtree(range: string): Uint8Array {
  const [address, prefixText] = range.split('/');
  const bytes = parseIpAddress(address ?? '');
  if (!bytes) invalidConfig('an IP range is not a CIDR', { range });
  const bits = bytes.length * 8;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) invalidConfig('bad prefix length', { range });
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    const maskBits = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = (0xff << (8 - maskBits)) & 0xff;
    out[i] = bytes[i]! & mask;
    out[bytes.length + i] = mask;
  }
  return out;
}

function encodeSubtrees(trees: NameSubtrees | undefined): Uint8Array[] {
  optionalObject(trees, 'subtrees');
  if (!trees) return [];
  for (const key of ['dnsNames', 'ipRanges', 'emails', 'uriHosts'] as const) optionalStringArray(trees[key], key);
  const text = (tag: number, values: readonly string[] | undefined) =>
    (values ?? []).map((value) => {
      if (typeof value !== 'string' || !/^[\x21-\x7e]*$/.test(value))
        invalidConfig('a subtree is not ASCII', { value });
      return seq(tlv(tag, encoder.encode(value)));
    });
  return [
    ...text(GENERAL_NAME_TAG.dNSName, trees.dnsNames),
    ...(trees.ipRanges ?? []).map((range) => seq(tlv(GENERAL_NAME_TAG.iPAddress, ipSubtree(range)))),
    ...text(GENERAL_NAME_TAG.rfc822Name, trees.emails),
    ...text(GENERAL_NAME_TAG.uniformResourceIdentifier, trees.uriHosts),
  ];
}

/** The nameConstraints extension value for `input`; throws `CERTLOOP_INVALID_CONFIG` when it names nothing. */
export function encodeNameConstraints(input: NameConstraintsInput): Uint8Array {
  requireObject(input, 'name constraints');
  const permitted = encodeSubtrees(input.permitted);
  const excluded = encodeSubtrees(input.excluded);
  if (permitted.length + excluded.length === 0) invalidConfig('name constraints must name a subtree', {});
  return seq(
    ...(permitted.length ? [contextTag(0, true, ...permitted)] : []),
    ...(excluded.length ? [contextTag(1, true, ...excluded)] : []),
  );
}
