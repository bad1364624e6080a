import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCertloopError } from '../errors.js';
import {
  bitString,
  booleanTrue,
  checkWellFormed,
  children,
  contextTag,
  type DerNode,
  ia5String,
  nullValue,
  octetString,
  oid,
  parseDer,
  printableString,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readNode,
  readOid,
  readSmallInteger,
  readString,
  readTime,
  seq,
  setOf,
  smallInteger,
  Tag,
  time,
  tlv,
  unsignedInteger,
  utf8String,
  whole,
} from './der.js';

const invalidDer = expect.objectContaining({ code: 'CERTLOOP_INVALID_DER' });
const bytes = (...values: number[]) => new Uint8Array(values);

/** Walks every element breadth-first with an explicit queue (no recursion), as a consumer of the reader would. */
function walk(root: DerNode): number {
  const queue = [root];
  let count = 0;
  while (queue.length > 0) {
    const node = queue.shift()!;
    count++;
    if (node.tag & 0x20) queue.push(...children(node));
  }
  return count;
}

describe('DER writer and reader round trips', () => {
  it.each([
    '1.2.840.113549.1.1.11',
    '2.5.29.37.0',
    '1.3.6.1.4.1.311.21.20',
    '2.999.1234567',
    '0.9.2342.19200300.100.1.1',
  ])('OID %s', (dotted) => {
    expect(readOid(parseDer(oid(dotted)))).toBe(dotted);
  });

  it('OIDs read twice or more (from the cache) and past the cache bound read the same, each its own', () => {
    const dotted = Array.from({ length: 700 }, (_, i) => `1.3.6.1.4.1.${i}.${(i * 7919) % 1000}`);
    for (let pass = 0; pass < 3; pass++) {
      for (const d of dotted) expect(readOid(parseDer(oid(d)))).toBe(d);
    }
  });

  it.each([0, 1, 127, 128, 255, 256, 65_535, 2 ** 40])('small integer %d', (value) => {
    expect(readSmallInteger(parseDer(smallInteger(value)))).toBe(value);
  });

  it('unsigned integers gain a sign byte when the top bit is set and lose leading zeros', () => {
    expect([...readIntegerBytes(parseDer(unsignedInteger(bytes(0x80, 1))))]).toEqual([0, 0x80, 1]);
    expect([...readIntegerBytes(parseDer(unsignedInteger(bytes(0, 0, 0x7f))))]).toEqual([0x7f]);
    expect([...readIntegerBytes(parseDer(unsignedInteger(bytes())))]).toEqual([0]);
  });

  it.each([
    ['UTCTime', new Date('2030-06-15T12:34:56Z'), Tag.UTC_TIME],
    ['UTCTime, 1950', new Date('1950-01-01T00:00:00Z'), Tag.UTC_TIME],
    ['GeneralizedTime, 2050', new Date('2050-01-01T00:00:00Z'), Tag.GENERALIZED_TIME],
    ['GeneralizedTime, 9999', new Date('9999-12-31T23:59:59Z'), Tag.GENERALIZED_TIME],
    ['GeneralizedTime, 1949', new Date('1949-12-31T23:59:59Z'), Tag.GENERALIZED_TIME],
    ['GeneralizedTime, year 50', new Date('0050-03-04T05:06:07Z'), Tag.GENERALIZED_TIME],
    ['UTCTime, 2049', new Date('2049-12-31T23:59:59Z'), Tag.UTC_TIME],
  ])('time: %s', (_name, date, tag) => {
    const node = parseDer(time(date));
    expect(node.tag).toBe(tag);
    expect(readTime(node).getTime()).toBe(date.getTime());
  });

  it('strings of each kind', () => {
    expect(readString(parseDer(utf8String('zürich ✓')))).toBe('zürich ✓');
    expect(readString(parseDer(printableString('Example Org')))).toBe('Example Org');
    expect(readString(parseDer(ia5String('a@b.example')))).toBe('a@b.example');
    expect(readString(parseDer(tlv(Tag.BMP_STRING, bytes(0, 0x41, 0x20, 0xac))))).toBe('A€');
  });

  it('long-form lengths of 1, 2 and 3 bytes', () => {
    for (const size of [200, 300, 70_000]) {
      const node = parseDer(octetString(new Uint8Array(size).fill(7)));
      expect(node.end - node.contentStart).toBe(size);
    }
  });

  it('nested structures, booleans, bit strings, context tags and sorted sets', () => {
    const der = seq(booleanTrue(), nullValue(), bitString(bytes(0xa0), 5), contextTag(0, true, smallInteger(2)));
    const [b, n, bits, ctx] = children(parseDer(der));
    expect(readBoolean(b!)).toBe(true);
    expect(n!.tag).toBe(Tag.NULL);
    expect(readBitString(bits!)).toEqual({ bytes: bytes(0xa0), unusedBits: 5 });
    expect(ctx!.tag).toBe(0xa0);
    expect(readSmallInteger(children(ctx!)[0]!)).toBe(2);
    const set = children(parseDer(setOf(smallInteger(300), smallInteger(5), smallInteger(1))));
    expect(set.map(readSmallInteger)).toEqual([1, 5, 300]);
    expect(whole(set[0]!)).toEqual(smallInteger(1));
  });

  it('reads an element inside a larger buffer without copying', () => {
    const buffer = new Uint8Array([0xff, ...smallInteger(9), 0xff]);
    const node = readNode(buffer, 1, buffer.length - 1);
    expect(node.bytes).toBe(buffer);
    expect(readSmallInteger(node)).toBe(9);
  });
});

describe('malformed DER is refused with CERTLOOP_INVALID_DER', () => {
  it.each([
    ['empty input', bytes()],
    ['a lone tag', bytes(0x30)],
    ['content shorter than the length', bytes(0x04, 0x05, 1, 2)],
    ['truncated long-form length', bytes(0x04, 0x82, 0x01)],
    ['indefinite length (BER)', bytes(0x30, 0x80, 0, 0)],
    ['a length of more than 4 bytes', bytes(0x04, 0x85, 0, 0, 0, 0, 1, 0)],
    ['non-minimal long-form length', bytes(0x04, 0x81, 0x01, 0x00)],
    ['overlong length (4 GiB claimed)', bytes(0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0)],
    ['trailing data', bytes(0x05, 0x00, 0x00)],
    ['high tag number', bytes(0x1f, 0x81, 0x01, 0x00)],
  ])('%s', (_name, input) => {
    expect(() => parseDer(input)).toThrowError(invalidDer);
  });

  /** A SEQUENCE holding one time value of `tag` with `text` as its content. */
  const wrappedTime = (tag: number, text: string) => {
    const content = Buffer.from(text, 'latin1');
    return new Uint8Array([0x30, content.length + 2, tag, content.length, ...content]);
  };

  it.each([
    ['a GeneralizedTime that is no time (found by the fuzzer in a CSR attribute)', 0x18, 'U'],
    ['a GeneralizedTime without seconds', 0x18, '202501010000Z'],
    ['a GeneralizedTime with a trailing zero in its fraction', 0x18, '20250101000000.50Z'],
    ['a GeneralizedTime with a local offset', 0x18, '20250101000000+0100'],
    ['a GeneralizedTime of hour 24', 0x18, '20250101240000Z'],
    ['a UTCTime of 30 February', 0x17, '250230000000Z'],
  ])('checkWellFormed refuses %s inside a value certloop does not read', (_name, tag, text) => {
    expect(() => checkWellFormed(wrappedTime(tag, text))).toThrowError(invalidDer);
  });

  it.each([
    ['a constructed BIT STRING (found by the CSR differential at seed 5555)', [0x23, 0x00]],
    ['a constructed OCTET STRING holding one primitive', [0x24, 0x03, 0x04, 0x01, 0x41]],
    ['a constructed UTF8String', [0x2c, 0x03, 0x0c, 0x01, 0x41]],
    ['a constructed INTEGER', [0x22, 0x03, 0x02, 0x01, 0x01]],
  ])('checkWellFormed refuses %s (BER: DER writes universal types primitive, SEQUENCE and SET apart)', (_n, inner) => {
    expect(() => checkWellFormed(new Uint8Array([0x30, inner.length, ...inner]))).toThrowError(invalidDer);
  });

  it('checkWellFormed takes constructed context and application tags, SEQUENCE and SET', () => {
    checkWellFormed(new Uint8Array([0x30, 0x0b, 0xa0, 0x03, 0x02, 0x01, 0x01, 0x31, 0x00, 0x61, 0x02, 0x05, 0x00]));
  });

  it('checkWellFormed takes DER times: UTCTime, GeneralizedTime with and without a fraction', () => {
    for (const time of ['20250101000000Z', '20250101000000.5Z', '20250101000000.125Z']) {
      checkWellFormed(wrappedTime(0x18, time));
    }
    checkWellFormed(wrappedTime(0x17, '250228000000Z'));
  });

  it('a child that overruns its parent', () => {
    // SEQUENCE of length 3 holding an OCTET STRING that claims 5 bytes.
    const node = parseDer(bytes(0x30, 0x03, 0x04, 0x05, 0x01));
    expect(() => children(node)).toThrowError(invalidDer);
  });

  it('children of a primitive element', () => {
    expect(() => children(parseDer(bytes(0x04, 0x01, 0x30)))).toThrowError(invalidDer);
  });

  it.each([
    ['empty OID', () => readOid(parseDer(bytes(0x06, 0x00)))],
    ['truncated OID', () => readOid(parseDer(bytes(0x06, 0x02, 0x2a, 0x86)))],
    ['OID arc beyond 2^53', () => readOid(parseDer(bytes(0x06, 0x09, 0x2a, ...new Array(7).fill(0xff), 0x7f)))],
    ['empty INTEGER', () => readIntegerBytes(parseDer(bytes(0x02, 0x00)))],
    ['negative count', () => readSmallInteger(parseDer(bytes(0x02, 0x01, 0x80)))],
    ['huge count', () => readSmallInteger(parseDer(bytes(0x02, 0x07, 1, 0, 0, 0, 0, 0, 0)))],
    ['two-byte BOOLEAN', () => readBoolean(parseDer(bytes(0x01, 0x02, 0xff, 0xff)))],
    ['BIT STRING with 8 unused bits', () => readBitString(parseDer(bytes(0x03, 0x02, 0x08, 0x00)))],
    ['invalid UTF-8', () => readString(parseDer(bytes(0x0c, 0x02, 0xc3, 0x28)))],
    ['odd BMPString', () => readString(parseDer(bytes(0x1e, 0x01, 0x41)))],
    [
      'a time with a local offset',
      () => readTime(parseDer(tlv(Tag.UTC_TIME, new TextEncoder().encode('300101000000+0100')))),
    ],
    ['a time that is not a time', () => readTime(parseDer(octetString(bytes(1))))],
    ['wrong tag where one is expected', () => readOid(parseDer(smallInteger(1)))],
  ])('%s', (_name, read) => {
    expect(read).toThrowError(invalidDer);
  });

  it('deep nonsense: 5,000 nested SEQUENCEs are walked without recursion and a broken core is found', () => {
    let der: Uint8Array = bytes(0x04, 0x03, 1);
    // The innermost element lies about its length; every wrapper is well formed around it.
    for (let i = 0; i < 5_000; i++) der = seq(der);
    expect(() => walk(parseDer(der))).toThrowError(invalidDer);
  });

  it('random bytes either parse or fail with CERTLOOP_INVALID_DER, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          walk(parseDer(input));
        } catch (err) {
          expect(isCertloopError(err, 'CERTLOOP_INVALID_DER')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
