/**
 * `@certloop/core` PEM: encode, decode, split and join PEM blocks, with size and count bounds checked before parsing.
 *
 * Parsing is one forward scan with `indexOf` and a character loop (no backtracking regular expression), so its
 * cost is linear in the input whatever it holds: runs of newlines, thousands of unmatched BEGIN lines.
 */
import { CertloopError } from '../errors.js';
import { requireBytes } from './options.js';

/** Default bounds: generous for real chains, small enough to refuse abuse before any parsing. */
export const PEM_LIMITS = { maxBytes: 256 * 1024, maxBlocks: 16, maxDerBytes: 64 * 1024 } as const;

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

export interface PemBounds {
  readonly maxBytes?: number;
  readonly maxBlocks?: number;
}

const BEGIN = '-----BEGIN ';
const DASHES = '-----';
/** The longest label accepted (real ones are under 32 characters); bounds the label check. */
const MAX_LABEL = 64;

/** True for a label of `A-Z`, `0-9` and spaces, as the block syntax of RFC 7468 uses. */
function isLabel(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_LABEL) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20)) return false;
  }
  return true;
}

/** Per character code below 256: its 6-bit value for the base64 alphabet, 64 for white space, 65 for `=`, 0xff else. */
const BASE64 = (() => {
  const table = new Uint8Array(256).fill(0xff);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  for (const c of ' \t\n\v\f\r') table[c.charCodeAt(0)] = 64;
  table[0x3d] = 65;
  return table;
})();
const WHITE_SPACE = 64;
const PADDING = 65;

/**
 * The DER of the base64 in `text[start..end)`, white space ignored; undefined when it is not canonical base64
 * (other characters, `=` anywhere but the end, a length not a multiple of 4, or nothing at all). One pass, four
 * characters at a time between line breaks.
 */
export function decodeBase64Body(text: string, start: number, end: number): Uint8Array | undefined {
  // Decoded here rather than by Buffer.from(..., 'base64'): on Node 24 that SIMD decoder slowed the signature work
  // right after it by more than the decoding costs here (issue 16). The bytes come from Node's pool.
  const der = Buffer.allocUnsafe(((end - start) >> 2) * 3 + 3);
  let out = 0;
  let count = 0;
  let padding = 0;
  let accumulator = 0;
  let bits = 0;
  let i = start;
  while (i < end) {
    if (bits === 0 && padding === 0 && i + 4 <= end) {
      // A whole quantum of alphabet characters (the common case): three bytes at once.
      const c0 = text.charCodeAt(i);
      const c1 = text.charCodeAt(i + 1);
      const c2 = text.charCodeAt(i + 2);
      const c3 = text.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) < 256) {
        const v0 = BASE64[c0]!;
        const v1 = BASE64[c1]!;
        const v2 = BASE64[c2]!;
        const v3 = BASE64[c3]!;
        if ((v0 | v1 | v2 | v3) < 64) {
          const quantum = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
          der[out] = quantum >> 16;
          der[out + 1] = quantum >> 8;
          der[out + 2] = quantum;
          out += 3;
          count += 4;
          i += 4;
          continue;
        }
      }
    }
    const c = text.charCodeAt(i++);
    const value = c < 256 ? BASE64[c]! : 0xff;
    if (value < 64) {
      if (padding > 0) return undefined;
      accumulator = ((accumulator << 6) | value) & 0xffffff;
      bits += 6;
      count++;
      if (bits >= 8) {
        bits -= 8;
        der[out++] = accumulator >> bits;
      }
    } else if (value === PADDING) {
      if (++padding > 2) return undefined;
      count++;
    } else if (value !== WHITE_SPACE) return undefined;
  }
  if (count === 0 || count % 4 !== 0) return undefined;
  return new Uint8Array(der.buffer, der.byteOffset, out);
}

/** Labels already found valid (a few: certificates, keys, CRLs), so the issuance path checks its label once. */
const CHECKED_LABELS = new Set<string>();

/** Encodes DER as one PEM block, 64-character lines, trailing newline. */
export function pemEncode(label: string, der: Uint8Array): string {
  if (!CHECKED_LABELS.has(label)) {
    if (typeof label !== 'string' || !/^[\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*$/.test(label)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a PEM label is printable ASCII (RFC 7468)');
    }
    if (CHECKED_LABELS.size < 32) CHECKED_LABELS.add(label);
  }
  requireBytes(der, 'der');
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

function assertSize(text: string, maxBytes: number): void {
  if (typeof text !== 'string') throw new CertloopError('CERTLOOP_INVALID_PEM', 'PEM input must be a string');
  if (text.length > maxBytes) {
    throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', `PEM input of ${text.length} bytes exceeds ${maxBytes}`, {
      details: { size: text.length, limit: maxBytes },
    });
  }
}

/** Every PEM block in `text`, in order. Text between blocks is ignored (as openssl does). */
export function pemSplit(text: string, bounds: PemBounds = {}): PemBlock[] {
  const maxBytes = bounds.maxBytes ?? PEM_LIMITS.maxBytes;
  const maxBlocks = bounds.maxBlocks ?? PEM_LIMITS.maxBlocks;
  assertSize(text, maxBytes);
  const blocks: PemBlock[] = [];
  let position = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, position);
    if (begin < 0) break;
    const labelStart = begin + BEGIN.length;
    const labelEnd = text.indexOf(DASHES, labelStart);
    if (labelEnd < 0) break;
    if (!isLabel(text, labelStart, labelEnd)) {
      // Not a block header: go on from its closing dashes (each character is looked at a bounded number of times).
      position = labelEnd;
      continue;
    }
    const label = text.slice(labelStart, labelEnd);
    const bodyStart = labelEnd + DASHES.length;
    // The body holds no dashes, so the next five dashes must open this block's END line; anything else is an
    // unterminated block (openssl refuses it too).
    const bodyEnd = text.indexOf(DASHES, bodyStart);
    const endLine = `-----END ${label}-----`;
    if (bodyEnd < 0 || !text.startsWith(endLine, bodyEnd)) {
      throw new CertloopError('CERTLOOP_INVALID_PEM', `PEM block ${label} has no END line`, { details: { label } });
    }
    if (blocks.length >= maxBlocks) {
      throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', `more than ${maxBlocks} PEM blocks`, {
        details: { limit: maxBlocks },
      });
    }
    const der = decodeBase64Body(text, bodyStart, bodyEnd);
    if (!der) throw new CertloopError('CERTLOOP_INVALID_PEM', `PEM block ${label} has invalid base64`);
    blocks.push({ label, der });
    position = bodyEnd + endLine.length;
  }
  if (blocks.length === 0) throw new CertloopError('CERTLOOP_INVALID_PEM', 'no PEM block found');
  return blocks;
}

/** The single block of `text`, which must carry one of `labels` (when given). */
export function pemDecode(text: string, labels?: readonly string[], bounds: PemBounds = {}): PemBlock {
  const blocks = pemSplit(text, { maxBlocks: 1, ...bounds });
  const block = blocks[0]!;
  if (labels && !labels.includes(block.label)) {
    throw new CertloopError('CERTLOOP_INVALID_PEM', `expected PEM ${labels.join(' or ')}, got ${block.label}`, {
      details: { label: block.label },
    });
  }
  return block;
}

/** Splits a bundle of certificates (all blocks must be CERTIFICATE), returning their DER. */
export function splitCertificates(text: string, bounds: PemBounds = {}): Uint8Array[] {
  return pemSplit(text, bounds).map((b) => {
    if (b.label !== 'CERTIFICATE') {
      throw new CertloopError('CERTLOOP_INVALID_PEM', `expected CERTIFICATE blocks, got ${b.label}`, {
        details: { label: b.label },
      });
    }
    return b.der;
  });
}

/** Splits a bundle into one PEM string per certificate. */
export function splitPemBundle(text: string, bounds: PemBounds = {}): string[] {
  return splitCertificates(text, bounds).map((der) => pemEncode('CERTIFICATE', der));
}

/** Joins PEM strings into one bundle, one block after another, normalised line endings. */
export function joinPemBundle(pems: readonly string[]): string {
  if (!Array.isArray(pems) || pems.some((p) => typeof p !== 'string')) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'joinPemBundle needs an array of PEM strings');
  }
  return pems
    .filter((p) => p.trim().length > 0)
    .map((p) => `${p.trim()}\n`)
    .join('');
}
