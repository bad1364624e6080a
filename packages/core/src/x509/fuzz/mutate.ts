/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): structure-aware mutations of a DER tree,
 * the classes of BER, range and structure faults a parser must refuse (or read as OpenSSL does), chosen by plain
 * numbers so fast-check can generate, shrink and replay them from a seed.
 */
import fc from 'fast-check';
import { type EditNode, walk } from './der-edit.js';

export interface Mutation {
  readonly op: number;
  readonly target: number;
  readonly value: number;
  readonly bytes: Uint8Array;
}

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  op: fc.nat(),
  target: fc.nat(),
  value: fc.nat(),
  bytes: fc.uint8Array({ maxLength: 12 }),
});

/** One to three mutations: most faults are single, some only show in combination. */
export const mutationsArbitrary = fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 });

const INTERESTING_TAGS = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1c, 0x1e, 0x30, 0x31, 0x80,
  0x81, 0x82, 0x83, 0x86, 0x87, 0x88, 0x89, 0xa0, 0xa1, 0xa3, 0xa4, 0xa5, 0xa8, 0x24, 0x23, 0x2c,
];
const STRING_TAGS = [0x0c, 0x12, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e];

const pick = <T>(list: readonly T[], n: number): T => list[n % list.length]!;
const digits = (n: number, width: number) => String(n).padStart(width, '0').slice(-width);

function encodedLength(node: EditNode): number {
  if (node.children) {
    let n = node.bitStringPrefix === undefined ? 0 : 1;
    for (const child of node.children) n += 1 + lengthOctets(encodedLength(child)).length + encodedLength(child);
    return n + (node.trailer?.length ?? 0);
  }
  return (node.content?.length ?? 0) + (node.trailer?.length ?? 0);
}

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) out.unshift(l & 0xff);
  return [0x80 | out.length, ...out];
}

/** A random small element to insert. */
function smallElement(m: Mutation): EditNode {
  switch (m.value % 6) {
    case 0:
      return { tag: 0x05, content: new Uint8Array(0) };
    case 1:
      return { tag: 0x02, content: new Uint8Array([m.bytes[0] ?? 0]) };
    case 2:
      return { tag: 0x01, content: new Uint8Array([m.value % 2 ? 0xff : 0x00]) };
    case 3:
      return { tag: 0x04, content: m.bytes.slice() };
    case 4:
      return { tag: 0x0c, content: m.bytes.slice() };
    default:
      return { tag: pick(INTERESTING_TAGS, m.value >> 3), content: m.bytes.slice() };
  }
}

/** A time string: valid, out of range, or malformed, UTCTime or GeneralizedTime. */
function timeContent(m: Mutation, tag: number): Uint8Array {
  const v = m.value;
  const b = (i: number, mod: number) => (m.bytes[i] ?? v >> i) % mod;
  const year = tag === 0x18 ? digits((b(0, 100) * 100 + b(1, 100)) % 10000, 4) : digits(b(0, 100), 2);
  const fields = [b(2, 14), b(3, 33), b(4, 26), b(5, 61), b(6, 62)].map((n) => digits(n, 2)).join('');
  const tail = ['Z', 'Z', 'Z', '', '+0100', '.5Z', '.000Z', 'z'][v % 8]!;
  return new Uint8Array(Buffer.from(`${year}${fields}${tail}`, 'latin1'));
}

/** Applies one mutation in place. */
export function mutateTree(root: EditNode, m: Mutation): void {
  const nodes = walk(root);
  const { node } = nodes[m.target % nodes.length]!;
  const content = node.content ?? new Uint8Array(0);
  switch (m.op % 18) {
    case 0: {
      // Long-form length with a leading zero octet.
      const minimal = lengthOctets(encodedLength(node));
      const octets = minimal.length === 1 ? [minimal[0]!] : minimal.slice(1);
      node.lengthOverride = new Uint8Array([0x80 | (octets.length + 1), 0, ...octets]);
      break;
    }
    case 1: {
      const length = encodedLength(node);
      if (length < 0x80) node.lengthOverride = new Uint8Array([0x81, length]);
      else node.lengthOverride = new Uint8Array([0x80]);
      break;
    }
    case 2:
      // Indefinite length with end-of-contents.
      node.lengthOverride = new Uint8Array([0x80]);
      node.trailer = new Uint8Array([0, 0]);
      break;
    case 3:
      if (node.tag === 0x01 || m.value % 4 === 0) {
        node.tag = 0x01;
        delete node.children;
        node.content = new Uint8Array([m.bytes[0] ?? 1]);
      } else node.content = new Uint8Array([m.value & 0xff, ...content]);
      break;
    case 4:
      // INTEGER padding (or a sign flip).
      if (node.tag === 0x02 || node.tag === 0x0a)
        node.content = new Uint8Array([m.value % 2 ? 0xff : 0x00, ...content]);
      else if (node.content) node.content = new Uint8Array([0x00, ...content]);
      break;
    case 5: {
      // A 0x80-padded OID arc.
      if (node.tag === 0x06 && content.length > 0) {
        const at = m.value % content.length;
        node.content = new Uint8Array([...content.subarray(0, at), 0x80, ...content.subarray(at)]);
      }
      break;
    }
    case 6:
      node.tag = node.tag === 0x17 || node.tag === 0x18 ? node.tag : m.value % 2 ? 0x17 : 0x18;
      delete node.children;
      node.content = timeContent(m, node.tag);
      break;
    case 7:
      if (node.children) node.children.splice(m.value % (node.children.length + 1), 0, smallElement(m));
      break;
    case 8:
      if (node.children?.length) node.children.splice(m.value % node.children.length, 1);
      break;
    case 9:
      if (node.children?.length) {
        const i = m.value % node.children.length;
        node.children.splice(i, 0, structuredClone(node.children[i]!));
      }
      break;
    case 10:
      node.tag = pick(INTERESTING_TAGS, m.value);
      break;
    case 11:
      delete node.children;
      node.content = m.bytes.slice();
      break;
    case 12:
      // BIT STRING padding: unused-bit count and the last octet's low bits.
      if (node.tag === 0x03 && node.content && content.length > 0) {
        const unused = m.value % 8;
        const copy = content.slice();
        copy[0] = unused;
        if (copy.length > 1 && m.value & 8) copy[copy.length - 1]! |= 1;
        node.content = copy;
      } else if (node.tag === 0x03 && node.bitStringPrefix !== undefined) node.bitStringPrefix = m.value % 8;
      break;
    case 13:
      // A string type swap with arbitrary (often invalid) content.
      node.tag = pick(STRING_TAGS, m.value);
      delete node.children;
      node.content = m.value & 1 ? m.bytes.slice() : content;
      break;
    case 14:
      node.trailer = m.bytes.length ? m.bytes.slice() : new Uint8Array([0]);
      break;
    case 15:
      // An explicit DEFAULT: BOOLEAN FALSE after the first child of a SEQUENCE (an extension's critical).
      if (node.children && node.tag === 0x30) node.children.splice(1, 0, { tag: 0x01, content: new Uint8Array([0]) });
      break;
    case 16:
      if (node.content && content.length > 0) node.content = content.subarray(0, m.value % content.length);
      else if (node.children?.length) node.children.length = m.value % node.children.length;
      break;
    default:
      if (node.content && content.length > 0) {
        const copy = content.slice();
        copy[m.value % copy.length] ^= 1 << ((m.value >> 8) % 8);
        node.content = copy;
      }
  }
}

/** Byte-level damage on top (not structure-aware): flip, insert or delete a few bytes. */
export function mutateBytes(der: Uint8Array, m: Mutation): Uint8Array {
  if (der.length === 0) return der;
  const at = m.value % der.length;
  switch (m.op % 3) {
    case 0: {
      const copy = der.slice();
      copy[at] ^= m.bytes[0] ?? 0xff;
      return copy;
    }
    case 1:
      return new Uint8Array([...der.subarray(0, at), ...m.bytes, ...der.subarray(at)]);
    default:
      return new Uint8Array([...der.subarray(0, at), ...der.subarray(Math.min(der.length, at + 1 + (m.target % 8)))]);
  }
}

/** Applies mutations in order. */
export function mutateAll(root: EditNode, mutations: readonly Mutation[]): void {
  for (const m of mutations) mutateTree(root, m);
}
