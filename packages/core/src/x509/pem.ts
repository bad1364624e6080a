/**
 * `@certloop/core` PEM: encode, decode, split and join PEM blocks, with size and count bounds checked before parsing.
 */
import { CertloopError } from '../errors.js';

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

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Encodes DER as one PEM block, 64-character lines, trailing newline. */
export function pemEncode(label: string, der: Uint8Array): string {
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
  for (const m of text.matchAll(BLOCK)) {
    if (blocks.length >= maxBlocks) {
      throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', `more than ${maxBlocks} PEM blocks`, {
        details: { limit: maxBlocks },
      });
    }
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0 || body.length === 0) {
      throw new CertloopError('CERTLOOP_INVALID_PEM', `PEM block ${m[1]} has invalid base64`);
    }
    blocks.push({ label: m[1]!, der: new Uint8Array(Buffer.from(body, 'base64')) });
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
  return pems
    .filter((p) => p.trim().length > 0)
    .map((p) => `${p.trim()}\n`)
    .join('');
}
