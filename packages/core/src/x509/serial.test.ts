import { describe, expect, it } from 'vitest';
import { serialText } from './serial.js';

describe('serialText (certificates and CRL entries share it)', () => {
  it.each([
    ['positive with its sign octet', [0x00, 0xff], 'ff'],
    ['small positive', [0x01], '01'],
    ['zero', [0x00], '00'],
    ['-1, not its two\u2019s complement ff', [0xff], '-01'],
    ['-128', [0x80], '-80'],
    ['-129', [0xff, 0x7f], '-81'],
    ['-256', [0xff, 0x00], '-0100'],
  ])('%s', (_case, bytes, text) => {
    expect(serialText(Uint8Array.from(bytes))).toBe(text);
  });

  // Regression: the CRL reader once printed a negative serial as two's complement while certificates printed
  // `-magnitude`, so a revoked certificate with a negative serial never matched its CRL entry.
  it('reads a negative serial the way `openssl x509 -serial` does (-1 is -01)', () => {
    expect(serialText(Uint8Array.of(0xff))).toBe('-01');
  });
});
