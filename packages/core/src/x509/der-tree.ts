/**
 * Internal (`@certloop/core` x509): DER written in one allocation. Elements are described as a tree of plain
 * objects (cheap to make and to collect), their lengths summed on the way up, and the bytes written once into a
 * buffer of the exact size. The issuance hot path uses this instead of building every element as its own array;
 * ASCII strings (names, SANs) stay strings until they are written.
 */
import { CertloopError } from '../errors.js';

export interface DerTree {
  readonly tag: number;
  readonly parts: readonly DerPart[];
  /** Length of the content (the parts, encoded). */
  readonly contentLength: number;
}

/** A primitive element whose content is ASCII text, written byte for byte (no encoder, no intermediate array). */
export interface DerText {
  readonly tag: number;
  readonly text: string;
  /** `text.length`: one byte per character. */
  readonly contentLength: number;
}

/** Already-encoded bytes, or an element still to write. */
export type DerPart = Uint8Array | DerTree | DerText;

function headerLength(contentLength: number): number {
  if (contentLength < 0x80) return 2;
  if (contentLength < 0x100) return 3;
  if (contentLength < 0x10000) return 4;
  if (contentLength < 0x1000000) return 5;
  if (contentLength < 0x100000000) return 6;
  throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a DER element of 4 GiB or more');
}

/** The encoded size of a part. */
export function derLength(part: DerPart): number {
  return part instanceof Uint8Array ? part.length : headerLength(part.contentLength) + part.contentLength;
}

/** An element with `tag` whose content is the parts in order. */
export function derNode(tag: number, ...parts: DerPart[]): DerTree {
  return derNodeOf(tag, parts);
}

/** {@link derNode} with the parts as an array (kept as given, not copied). */
export function derNodeOf(tag: number, parts: readonly DerPart[]): DerTree {
  let contentLength = 0;
  for (const part of parts) contentLength += derLength(part);
  return { tag, parts, contentLength };
}

const textEncoder = new TextEncoder();

/**
 * A string element: ASCII text becomes a {@link DerText} leaf written straight into the output; any other text is
 * UTF-8 encoded here (the same bytes `TextEncoder` gives).
 */
export function derText(tag: number, text: string): DerText | DerTree {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return derNode(tag, textEncoder.encode(text));
  }
  return { tag, text, contentLength: text.length };
}

function write(part: DerPart, out: Uint8Array, offset: number): number {
  if (part instanceof Uint8Array) {
    out.set(part, offset);
    return offset + part.length;
  }
  out[offset++] = part.tag;
  const length = part.contentLength;
  if (length < 0x80) out[offset++] = length;
  else {
    const count = headerLength(length) - 2;
    out[offset++] = 0x80 | count;
    // Shifts, not powers of 256 (Math.pow is a call into the runtime): lengths stay under 2^32 (headerLength).
    for (let i = count - 1; i >= 0; i--) out[offset + i] = length >>> (8 * (count - 1 - i));
    offset += count;
  }
  if ('text' in part) {
    const text = part.text;
    for (let i = 0; i < text.length; i++) out[offset++] = text.charCodeAt(i);
    return offset;
  }
  for (const child of part.parts) offset = write(child, out, offset);
  return offset;
}

/** Encodes a part into a fresh array of exactly its size. */
export function encodeDer(part: DerPart): Uint8Array {
  if (part instanceof Uint8Array) return part;
  const out = new Uint8Array(derLength(part));
  write(part, out, 0);
  return out;
}

/**
 * Encodes a part into a Buffer from Node's shared pool (no allocation of its own for small sizes), for bytes that
 * stay inside certloop (a TBSCertificate on its way to the signer): never hand one out, since the pool's other
 * bytes belong to others.
 */
export function encodeDerScratch(part: DerPart): Uint8Array {
  if (part instanceof Uint8Array) return part;
  const out = Buffer.allocUnsafe(derLength(part));
  const end = write(part, out, 0);
  // Only a part changed between measuring and writing could do this; the pool's other bytes must never be signed.
  if (end !== out.length) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a DER part changed while written');
  return out;
}
