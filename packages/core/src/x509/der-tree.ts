/**
 * Internal (`@certloop/core` x509): DER written in one allocation. Elements are described as a tree of plain
 * objects (cheap to make and to collect), their lengths summed on the way up, and the bytes written once into a
 * buffer of the exact size. The issuance hot path uses this instead of building every element as its own array.
 */

export interface DerTree {
  readonly tag: number;
  readonly parts: readonly DerPart[];
  /** Length of the content (the parts, encoded). */
  readonly contentLength: number;
}

/** Already-encoded bytes, or an element still to write. */
export type DerPart = Uint8Array | DerTree;

function headerLength(contentLength: number): number {
  if (contentLength < 0x80) return 2;
  let bytes = 0;
  for (let l = contentLength; l > 0; l = Math.floor(l / 256)) bytes++;
  return 2 + bytes;
}

/** The encoded size of a part. */
export function derLength(part: DerPart): number {
  return part instanceof Uint8Array ? part.length : headerLength(part.contentLength) + part.contentLength;
}

/** An element with `tag` whose content is the parts in order. */
export function derNode(tag: number, ...parts: DerPart[]): DerTree {
  let contentLength = 0;
  for (const part of parts) contentLength += derLength(part);
  return { tag, parts, contentLength };
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
    for (let i = count - 1; i >= 0; i--) out[offset + i] = Math.floor(length / 256 ** (count - 1 - i)) & 0xff;
    offset += count;
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
