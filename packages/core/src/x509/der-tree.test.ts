import { describe, expect, it } from 'vitest';
import { ia5String, octetString, seq, Tag, tlv, utf8String } from './der.js';
import { derLength, derNode, derText, encodeDer, encodeDerScratch } from './der-tree.js';

describe('der-tree', () => {
  it('writes the same bytes as the element-by-element writer, across length-encoding boundaries', () => {
    for (const size of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 70_000]) {
      const payload = new Uint8Array(size).fill(7);
      const expected = seq(octetString(payload), tlv(0xa3, seq(new Uint8Array([1, 2]))));
      const tree = derNode(
        Tag.SEQUENCE,
        derNode(Tag.OCTET_STRING, payload),
        derNode(0xa3, derNode(Tag.SEQUENCE, new Uint8Array([1, 2]))),
      );
      expect(derLength(tree)).toBe(expected.length);
      expect(Buffer.from(encodeDer(tree)).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('passes encoded bytes through unchanged', () => {
    const bytes = new Uint8Array([0x05, 0x00]);
    expect(encodeDer(bytes)).toBe(bytes);
  });

  it('writes strings as the string writers do: ASCII byte for byte, anything else as UTF-8', () => {
    for (const text of ['', 'agent-0001', 'zürich ✓', 'a😀b', 'x'.repeat(300)]) {
      const tree = derNode(Tag.SEQUENCE, derText(Tag.UTF8_STRING, text), derText(Tag.IA5_STRING, 'a@b.example'));
      const expected = seq(utf8String(text), ia5String('a@b.example'));
      expect(derLength(tree)).toBe(expected.length);
      expect(Buffer.from(encodeDer(tree)).equals(Buffer.from(expected))).toBe(true);
      expect(Buffer.from(encodeDerScratch(tree)).equals(Buffer.from(expected))).toBe(true);
    }
  });
});
