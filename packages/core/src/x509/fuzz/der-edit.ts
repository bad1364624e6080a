/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): DER as an editable tree, for the
 * structure-aware mutation tests. Parsing here is deliberately lax (it must read what it is asked to break) and
 * independent of der.ts; encoding can override any element's length header to write BER on purpose.
 */

export interface EditNode {
  tag: number;
  /** Children of a constructed element, or of an OCTET/BIT STRING whose content is itself DER (`encapsulated`). */
  children?: EditNode[];
  /** Content of a primitive element (ignored when `children` is set). */
  content?: Uint8Array;
  /** For BIT STRING encapsulation: the unused-bits octet in front of the inner DER. */
  bitStringPrefix?: number;
  /** The length octets to write instead of the minimal ones (e.g. `[0x82, 0x00, 0x05]`, or `[0x80]` for BER). */
  lengthOverride?: Uint8Array;
  /** Bytes written after the content (inside the element when `lengthOverride` counts them). */
  trailer?: Uint8Array;
  /** The whole element, already encoded: written as is, every other field ignored. */
  raw?: Uint8Array;
}

function readHeader(bytes: Uint8Array, offset: number, limit: number): { tag: number; start: number; end: number } {
  if (offset + 2 > limit) throw new Error('truncated');
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw new Error('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    start += count;
  }
  if (start + length > limit) throw new Error('overrun');
  return { tag, start, end: start + length };
}

function parseList(bytes: Uint8Array, offset: number, limit: number, depth: number): EditNode[] {
  const out: EditNode[] = [];
  while (offset < limit) {
    const { tag, start, end } = readHeader(bytes, offset, limit);
    out.push(toNode(bytes, tag, start, end, depth));
    offset = end;
  }
  return out;
}

function toNode(bytes: Uint8Array, tag: number, start: number, end: number, depth: number): EditNode {
  const content = bytes.slice(start, end);
  if (depth < 24 && tag & 0x20) {
    try {
      return { tag, children: parseList(bytes, start, end, depth + 1) };
    } catch {
      return { tag, content };
    }
  }
  // Extension values and keys hide DER inside strings: open them up so mutations reach their structure.
  if (depth < 24 && tag === 0x04 && content.length >= 2 && (content[0] === 0x30 || content[0] === 0x03)) {
    try {
      const children = parseList(bytes, start, end, depth + 1);
      if (children.length === 1) return { tag, children };
    } catch {}
  }
  if (depth < 24 && tag === 0x03 && content.length >= 3 && content[0] === 0 && content[1] === 0x30) {
    try {
      const children = parseList(bytes, start + 1, end, depth + 1);
      if (children.length === 1) return { tag, children, bitStringPrefix: 0 };
    } catch {}
  }
  return { tag, content };
}

/** Reads one element (lax BER-ish reading, trailing data refused). */
export function parseTree(bytes: Uint8Array): EditNode {
  const { tag, start, end } = readHeader(bytes, 0, bytes.length);
  if (end !== bytes.length) throw new Error('trailing data');
  return toNode(bytes, tag, start, end, 0);
}

function minimalLength(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) out.unshift(l & 0xff);
  return [0x80 | out.length, ...out];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Encodes the tree back, honouring every override. */
export function encodeTree(node: EditNode): Uint8Array {
  if (node.raw) return node.raw;
  let body: Uint8Array;
  if (node.children) {
    const inner = concat(node.children.map(encodeTree));
    body = node.bitStringPrefix === undefined ? inner : concat([new Uint8Array([node.bitStringPrefix]), inner]);
  } else body = node.content ?? new Uint8Array(0);
  if (node.trailer) body = concat([body, node.trailer]);
  const header = node.lengthOverride ?? new Uint8Array(minimalLength(body.length));
  return concat([new Uint8Array([node.tag]), header, body]);
}

/** A deep copy (mutations work on copies). */
export function cloneTree(node: EditNode): EditNode {
  return {
    ...node,
    ...(node.children ? { children: node.children.map(cloneTree) } : {}),
    ...(node.content ? { content: node.content.slice() } : {}),
  };
}

/** Every node with its path of child indices (the root has the empty path). */
export function walk(node: EditNode, path: number[] = [], out: { node: EditNode; path: number[] }[] = []) {
  out.push({ node, path });
  node.children?.forEach((child, i) => {
    walk(child, [...path, i], out);
  });
  return out;
}

/** The node at `path`. */
export function at(root: EditNode, path: readonly number[]): EditNode {
  let node = root;
  for (const i of path) node = node.children![i]!;
  return node;
}

/** Finds the first node (depth first) whose primitive content equals the OID `dottedOidDer` (DER of an OID). */
export function findOid(root: EditNode, oidContent: Uint8Array): number[] | undefined {
  for (const { node, path } of walk(root)) {
    if (node.tag === 0x06 && node.content && Buffer.from(node.content).equals(Buffer.from(oidContent))) return path;
  }
  return undefined;
}
