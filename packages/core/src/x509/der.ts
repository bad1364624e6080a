/**
 * Internal (`@certloop/core` x509): a lean DER reader and writer for the structures certloop reads and writes.
 *
 * Reading never copies: a node is a view (offsets) into the input bytes. Writing builds byte arrays bottom-up.
 * Every malformed input throws `CERTLOOP_INVALID_DER`; nothing here recurses without bounds.
 *
 * The reader accepts DER only, not BER: minimal definite lengths, minimal INTEGERs and OID arcs, BOOLEANs of 0x00
 * or 0xFF, BIT STRING padding bits zero, calendar-valid times. Each refusal carries `details.reason`, one of
 * {@link DerFailure}, so tests and callers can tell the classes apart without reading messages.
 */
import { CertloopError } from '../errors.js';

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A parsed TLV: `bytes[start..end)` is the whole element, `bytes[contentStart..end)` its content. */
export interface DerNode {
  readonly bytes: Uint8Array;
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** Why the reader refused: `details.reason` of its `CERTLOOP_INVALID_DER` errors. */
export type DerFailure =
  | 'structure'
  | 'length'
  | 'indefinite-length'
  | 'trailing-data'
  | 'integer'
  | 'oid'
  | 'boolean'
  | 'bit-string'
  | 'string'
  | 'time'
  | 'default-encoded';

/** Throws `CERTLOOP_INVALID_DER` with `details.reason`. */
export function derError(message: string, reason: DerFailure = 'structure'): never {
  throw new CertloopError('CERTLOOP_INVALID_DER', `malformed DER: ${message}`, { details: { reason } });
}

function fail(message: string, reason: DerFailure = 'structure'): never {
  return derError(message, reason);
}

/** Where the content of the element {@link elementEnd} last checked starts (kept here: no object per header). */
let lastContentStart = 0;

/** Reads the element starting at `offset`, checking it fits inside `limit`. */
export function readNode(bytes: Uint8Array, offset = 0, limit = bytes.length): DerNode {
  const end = elementEnd(bytes, offset, limit);
  return { bytes, tag: bytes[offset]!, start: offset, contentStart: lastContentStart, end };
}

/**
 * Checks the header of the element at `offset` (it must fit inside `limit`) and gives where the element ends; sets
 * {@link lastContentStart}. {@link readNode} without the node.
 */
function elementEnd(bytes: Uint8Array, offset: number, limit: number): number {
  if (offset + 2 > limit) fail('truncated header');
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('high tag numbers are not supported');
  let length = bytes[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) fail('indefinite length', 'indefinite-length');
    if (count > 4) fail('unsupported length encoding', 'length');
    if (contentStart + count > limit) fail('truncated length', 'length');
    // X.690 10.1: the fewest octets; a leading zero octet or a long form for a short length is BER.
    if (bytes[contentStart] === 0) fail('non-minimal length', 'length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[contentStart + i]!;
    contentStart += count;
    if (length < 0x80) fail('non-minimal length', 'length');
  }
  const end = contentStart + length;
  if (end > limit) fail('element overruns its container', 'length');
  lastContentStart = contentStart;
  return end;
}

/** Parses `bytes` as exactly one element (no trailing data). */
export function parseDer(bytes: Uint8Array): DerNode {
  const node = readNode(bytes, 0, bytes.length);
  if (node.end !== bytes.length) fail('trailing data after element', 'trailing-data');
  return node;
}

/**
 * Checks that `bytes` is exactly one DER element whose constructed parts are all well formed, to `maxDepth`
 * levels (strings are not opened). For values certloop does not decode but other readers do (extensions it
 * does not understand): BER or trailing bytes there would make OpenSSL or Go refuse what certloop accepted.
 */
export function checkWellFormed(bytes: Uint8Array, maxDepth = 32): void {
  const stack: { node: DerNode; depth: number }[] = [{ node: parseDer(bytes), depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!(node.tag & 0x20)) {
      checkPrimitive(node);
      continue;
    }
    // X.690 10.2: DER writes every string type (BIT STRING, OCTET STRING, the character strings, times) primitive;
    // of the universal types only SEQUENCE and SET are constructed (EXTERNAL, EMBEDDED PDV never occur in X.509)
    if (!(node.tag & 0xc0) && node.tag !== Tag.SEQUENCE && node.tag !== Tag.SET) {
      fail(`universal tag ${node.tag & 0x1f} in constructed form (BER)`, 'structure');
    }
    if (depth >= maxDepth) fail('nested too deeply');
    for (const child of children(node)) stack.push({ node: child, depth: depth + 1 });
  }
}

/** The content rules of universal primitive types (what OpenSSL also checks when it decodes an ANY). */
function checkPrimitive(node: DerNode): void {
  switch (node.tag) {
    case Tag.BOOLEAN:
      readBoolean(node);
      break;
    case Tag.INTEGER:
      readIntegerBytes(node);
      break;
    case 0x0a: // ENUMERATED
      readIntegerBytes({ ...node, tag: Tag.INTEGER });
      break;
    case Tag.BIT_STRING:
      readBitString(node);
      break;
    case Tag.NULL:
      if (node.end !== node.contentStart) fail('NULL with content');
      break;
    case Tag.OID:
      readOid(node);
      break;
    case Tag.UTF8_STRING:
    case Tag.BMP_STRING:
    case Tag.UNIVERSAL_STRING:
      readString(node);
      break;
    case Tag.UTC_TIME:
      readTime(node);
      break;
    case Tag.GENERALIZED_TIME:
      checkGeneralizedTime(node);
      break;
    default:
  }
}

/**
 * A GeneralizedTime in its DER form (X.690 11.7): UTC with `Z`, seconds present, a fraction only without trailing
 * zeros, every field in range. (Certificate validity is read by {@link readTime}, which takes no fraction.)
 */
function checkGeneralizedTime(node: DerNode): void {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d*[1-9])?Z$/.exec(latin1.decode(content(node)));
  if (!m) fail('bad GeneralizedTime', 'time');
  utcInstant(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** The children of a constructed element. */
export function children(node: DerNode): DerNode[] {
  if (!(node.tag & 0x20)) fail(`tag 0x${node.tag.toString(16)} is not constructed`);
  const { bytes, end } = node;
  // Counted first (headers only), so the array is made at its size: growing one from empty reserves 17 slots, and
  // this runs a few dozen times per CSR.
  let count = 0;
  for (let offset = node.contentStart; offset < end; count++) offset = elementEnd(bytes, offset, end);
  const out = new Array<DerNode>(count);
  let offset = node.contentStart;
  for (let i = 0; i < count; i++) {
    const child = readNode(bytes, offset, end);
    out[i] = child;
    offset = child.end;
  }
  return out;
}

/**
 * Walks the optional context-tagged fields of a SEQUENCE: `visit` gets each field with its position in `tags` (the
 * order the fields must stand in); an unknown, repeated or out-of-order field is refused (`CERTLOOP_INVALID_DER`)
 * before it is visited.
 */
export function eachTaggedField(
  fields: readonly DerNode[],
  tags: readonly number[],
  what: string,
  visit: (field: DerNode, index: number) => void,
): void {
  let last = -1;
  for (const field of fields) {
    const index = tags.indexOf(field.tag);
    if (index <= last) fail(`${what} unknown, repeated or out of order`);
    last = index;
    visit(field, index);
  }
}

/** Asserts the node's tag. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) fail(`missing ${what}`);
  if (node.tag !== tag) fail(`${what}: expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`);
  return node;
}

export function content(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.contentStart, node.end);
}

export function whole(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.start, node.end);
}

// The few OIDs a certificate or CSR holds recur in every one: their dotted text is kept by content (a bounded
// table keyed by a hash of the bytes, each entry holding its bytes to compare: a hit builds no string at all).
interface CachedOid {
  readonly bytes: Uint8Array;
  readonly text: string;
}
const oidText = new Map<number, CachedOid[]>();
let cachedOids = 0;
const MAX_CACHED_OIDS = 512;

export function readOid(node: DerNode): string {
  expectTag(node, Tag.OID, 'object identifier');
  const { bytes, contentStart: start, end } = node;
  const length = end - start;
  if (length > 0 && length <= 16) {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    const bucket = oidText.get(hash);
    if (bucket) {
      for (const entry of bucket) if (sameBytes(entry.bytes, bytes, start, end)) return entry.text;
    }
    const text = decodeOid(content(node));
    if (cachedOids < MAX_CACHED_OIDS) {
      const entry = { bytes: bytes.slice(start, end), text };
      if (bucket) bucket.push(entry);
      else oidText.set(hash, [entry]);
      cachedOids++;
    }
    return text;
  }
  return decodeOid(content(node));
}

function sameBytes(a: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== bytes[start + i]) return false;
  return true;
}

function decodeOid(c: Uint8Array): string {
  if (c.length === 0) fail('empty OID', 'oid');
  const parts: number[] = [];
  let value = 0;
  let arcStart = true;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    // X.690 8.19.2: an arc's first octet is never 0x80 (that would be a padded, non-minimal arc).
    if (arcStart && b === 0x80) fail('non-minimal OID arc', 'oid');
    arcStart = !(b & 0x80);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) fail('OID arc too large', 'oid');
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else parts.push(value);
      value = 0;
    } else if (i === c.length - 1) fail('truncated OID', 'oid');
  }
  return parts.join('.');
}

/** An INTEGER's content bytes (two's complement, big endian). */
export function readIntegerBytes(node: DerNode): Uint8Array {
  expectTag(node, Tag.INTEGER, 'integer');
  const c = content(node);
  if (c.length === 0) fail('empty INTEGER', 'integer');
  // X.690 8.3.2: the first nine bits are never all zero or all one (no padding octets).
  if (c.length > 1 && ((c[0] === 0 && !(c[1]! & 0x80)) || (c[0] === 0xff && c[1]! & 0x80))) {
    fail('non-minimal INTEGER', 'integer');
  }
  return c;
}

/** A small non-negative INTEGER as a number. */
export function readSmallInteger(node: DerNode): number {
  const c = readIntegerBytes(node);
  if (c[0]! & 0x80) fail('negative INTEGER where a count was expected', 'integer');
  if (c.length > 6) fail('INTEGER too large', 'integer');
  let value = 0;
  for (const b of c) value = value * 256 + b;
  return value;
}

export function readBoolean(node: DerNode): boolean {
  expectTag(node, Tag.BOOLEAN, 'boolean');
  const c = content(node);
  if (c.length !== 1) fail('BOOLEAN must be one byte', 'boolean');
  // X.690 11.1: TRUE is 0xFF in DER; any other non-zero octet is BER.
  if (c[0] !== 0 && c[0] !== 0xff) fail('BOOLEAN neither 0x00 nor 0xFF', 'boolean');
  return c[0] === 0xff;
}

/** A BIT STRING's bytes (unused bits must be zero for the keys and signatures certloop reads). */
export function readBitString(node: DerNode): { bytes: Uint8Array; unusedBits: number } {
  expectTag(node, Tag.BIT_STRING, 'bit string');
  const c = content(node);
  if (c.length === 0 || c[0]! > 7) fail('bad BIT STRING', 'bit-string');
  const unusedBits = c[0]!;
  // X.690 11.2.1: the unused (padding) bits of the last octet are zero; an empty string has none.
  if (unusedBits > 0 && (c.length === 1 || c[c.length - 1]! & ((1 << unusedBits) - 1))) {
    fail('BIT STRING padding bits are not zero', 'bit-string');
  }
  return { bytes: c.subarray(1), unusedBits };
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/**
 * The text of short all-ASCII bytes, made in JS (the same text every decoder gives for ASCII); undefined otherwise.
 * Names and SANs are short ASCII almost always: this spares a call into the decoder for each (issue 16).
 */
function asciiText(bytes: Uint8Array): string | undefined {
  if (bytes.length > 256) return undefined;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** Latin-1 text as the WHATWG `latin1` decoder gives it (ASCII made in JS). */
export function latin1Text(bytes: Uint8Array): string {
  return asciiText(bytes) ?? latin1.decode(bytes);
}

function decodeUtf8(bytes: Uint8Array): string {
  const ascii = asciiText(bytes);
  if (ascii !== undefined) return ascii;
  try {
    return decoder.decode(bytes);
  } catch {
    fail('invalid UTF-8', 'string');
  }
}

/**
 * The string tags {@link readString} reads: DirectoryString's choices plus IA5String and NumericString, the types
 * OpenSSL accepts in a Name (VisibleString is not among them: OpenSSL refuses a certificate with one there).
 */
export function isStringTag(tag: number): boolean {
  return (
    tag === Tag.UTF8_STRING ||
    tag === Tag.PRINTABLE_STRING ||
    tag === Tag.IA5_STRING ||
    tag === Tag.T61_STRING ||
    tag === Tag.BMP_STRING ||
    tag === Tag.NUMERIC_STRING ||
    tag === Tag.UNIVERSAL_STRING
  );
}

/** Any of the string types X.509 names use, as a JS string. */
export function readString(node: DerNode): string {
  const c = content(node);
  switch (node.tag) {
    case Tag.UTF8_STRING:
      return decodeUtf8(c);
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.T61_STRING:
    case Tag.NUMERIC_STRING:
      return latin1Text(c);
    case Tag.BMP_STRING: {
      if (c.length % 2) fail('odd BMPString', 'string');
      let s = '';
      for (let i = 0; i < c.length; i += 2) {
        const unit = (c[i]! << 8) | c[i + 1]!;
        // UCS-2: a surrogate code unit is no character (OpenSSL refuses it when it converts the name).
        if (unit >= 0xd800 && unit <= 0xdfff) fail('surrogate in BMPString', 'string');
        s += String.fromCharCode(unit);
      }
      return s;
    }
    case Tag.UNIVERSAL_STRING: {
      // UCS-4, big endian, as OpenSSL reads it; code points beyond Unicode or surrogates are refused.
      if (c.length % 4) fail('UniversalString not a multiple of 4 bytes', 'string');
      let s = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('invalid UniversalString character', 'string');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      fail(`tag 0x${node.tag.toString(16)} is not a string`, 'string');
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The instant of a calendar-checked UTC time (years 0–9999, no roll-over of out-of-range fields). */
function utcInstant(year: number, month: number, day: number, hour: number, minute: number, second: number): Date {
  const monthDays = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
  if (monthDays === undefined || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) {
    fail('time out of range', 'time');
  }
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear takes the year as given (GeneralizedTime 0050 is 50).
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date;
}

/**
 * UTCTime or GeneralizedTime as a Date: the Z form with whole seconds (RFC 5280 4.1.2.5), every field in range
 * (no second 60, 30 February or hour 24). A UTCTime year below 50 is 20xx (RFC 5280 4.1.2.5.1); a
 * GeneralizedTime year is taken as written, also below 100 (as OpenSSL does).
 */
export function readTime(node: DerNode): Date {
  const s = latin1.decode(content(node));
  let m: RegExpExecArray | null;
  let year: number;
  if (node.tag === Tag.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) fail('bad UTCTime', 'time');
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === Tag.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) fail('bad GeneralizedTime', 'time');
    year = Number(m[1]);
  } else fail('expected a time', 'time');
  return utcInstant(year, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

// ---------------------------------------------------------------- writer

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) out.unshift(l & 0xff);
  return [0x80 | out.length, ...out];
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** One TLV element from a tag and its content parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const header = lengthBytes(size);
  const out = new Uint8Array(1 + header.length + size);
  out[0] = tag;
  out.set(header, 1);
  let offset = 1 + header.length;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(Tag.SEQUENCE, ...parts);

/** SET OF, with elements sorted as DER requires. */
export function setOf(...parts: Uint8Array[]): Uint8Array {
  const sorted = [...parts].sort((a, b) => {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  return tlv(Tag.SET, ...sorted);
}

/** Context-specific tag `[n]`; constructed (explicit) by default. */
export function contextTag(n: number, constructed: boolean, ...parts: Uint8Array[]): Uint8Array {
  return tlv((constructed ? 0xa0 : 0x80) | n, ...parts);
}

/** INTEGER from unsigned big-endian magnitude bytes (adds the sign byte, strips leading zeros). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  if (trimmed.length === 0) return tlv(Tag.INTEGER, new Uint8Array([0]));
  return trimmed[0]! & 0x80 ? tlv(Tag.INTEGER, new Uint8Array([0]), trimmed) : tlv(Tag.INTEGER, trimmed);
}

export function smallInteger(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'bad integer');
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(new Uint8Array(bytes.length ? bytes : [0]));
}

export const booleanTrue = (): Uint8Array => new Uint8Array([Tag.BOOLEAN, 1, 0xff]);

/** Refuses an explicitly encoded DEFAULT value (X.690 11.5: DER leaves DEFAULT values out). */
export function refuseDefault(what: string): never {
  return fail(`${what} encodes its DEFAULT value`, 'default-encoded');
}
export const nullValue = (): Uint8Array => new Uint8Array([Tag.NULL, 0]);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(Tag.OCTET_STRING, bytes);
export const bitString = (bytes: Uint8Array, unusedBits = 0): Uint8Array =>
  tlv(Tag.BIT_STRING, new Uint8Array([unusedBits]), bytes);

const encoder = new TextEncoder();
export const utf8String = (s: string): Uint8Array => tlv(Tag.UTF8_STRING, encoder.encode(s));
export const printableString = (s: string): Uint8Array => tlv(Tag.PRINTABLE_STRING, encoder.encode(s));
export const ia5String = (s: string): Uint8Array => tlv(Tag.IA5_STRING, encoder.encode(s));

const oidCache = new Map<string, Uint8Array>();

/** OBJECT IDENTIFIER from dotted form (cached: certloop writes the same few OIDs over and over). */
export function oid(dotted: string): Uint8Array {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', `bad OID ${dotted}`);
  }
  const out: number[] = [];
  const push = (value: number) => {
    const chunk = [value & 0x7f];
    for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  const encoded = tlv(Tag.OID, new Uint8Array(out));
  oidCache.set(dotted, encoded);
  return encoded;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Writes `value` (0–99) as two ASCII digits at `offset`; gives the next offset. */
function twoDigits(out: Uint8Array, offset: number, value: number): number {
  out[offset] = 0x30 + Math.floor(value / 10);
  out[offset + 1] = 0x30 + (value % 10);
  return offset + 2;
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), whole seconds. */
export function time(date: Date): Uint8Array {
  const y = date.getUTCFullYear();
  if (y >= 0 && y <= 9999) {
    // The digits written straight into the element (this runs twice per issued certificate).
    const utc = y >= 1950 && y < 2050;
    const out = new Uint8Array(utc ? 15 : 17);
    out[0] = utc ? Tag.UTC_TIME : Tag.GENERALIZED_TIME;
    out[1] = out.length - 2;
    let o = utc ? twoDigits(out, 2, y % 100) : twoDigits(out, twoDigits(out, 2, Math.floor(y / 100)), y % 100);
    o = twoDigits(out, o, date.getUTCMonth() + 1);
    o = twoDigits(out, o, date.getUTCDate());
    o = twoDigits(out, o, date.getUTCHours());
    o = twoDigits(out, o, date.getUTCMinutes());
    o = twoDigits(out, o, date.getUTCSeconds());
    out[o] = 0x5a; // Z
    return out;
  }
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(Tag.UTC_TIME, encoder.encode(`${pad(y % 100)}${rest}`));
  return tlv(Tag.GENERALIZED_TIME, encoder.encode(`${pad(y, 4)}${rest}`));
}
