import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha1 } from './sha1.js';

const nodeSha1 = (data: Uint8Array) => new Uint8Array(createHash('sha1').update(data).digest());

describe('sha1 (the subject key identifier hash)', () => {
  it.each([
    ['empty', '', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['abc', 'abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    [
      'the two-block vector of FIPS 180-2',
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
    ],
  ])('gives the known answer for %s', (_case, text, hex) => {
    expect(Buffer.from(sha1(Buffer.from(text))).toString('hex')).toBe(hex);
  });

  it('agrees with node:crypto for every length around the block and padding edges', () => {
    for (let length = 0; length <= 300; length++) {
      const data = randomBytes(length);
      expect(sha1(data)).toEqual(nodeSha1(data));
    }
  });

  it('agrees with node:crypto on any bytes, also a view inside a larger buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(16), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(sha1(view)).toEqual(nodeSha1(view));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no state behind between calls (same input, same digest, fresh array each time)', () => {
    const data = randomBytes(200);
    const first = sha1(data);
    sha1(randomBytes(70));
    const second = sha1(data);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });
});
