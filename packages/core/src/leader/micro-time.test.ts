import { describe, expect, it } from 'vitest';
import { formatMicroTime, parseMicroTime } from './micro-time.js';

describe('formatMicroTime', () => {
  it.each([
    ['2024-05-01T12:00:00.123Z', '2024-05-01T12:00:00.123000Z'],
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999000Z'],
  ])('formats %s as %s (UTC, six fractional digits)', (iso, micro) => {
    expect(formatMicroTime(new Date(iso))).toBe(micro);
  });

  it.each([
    ['an invalid date', new Date(Number.NaN)],
    ['a year past 9999', new Date('+010000-01-01T00:00:00Z')],
    ['a year before 0', new Date('-000001-01-01T00:00:00Z')],
  ])('rejects %s with CERTLOOP_INVALID_ARGUMENT', (_name, date) => {
    expect(() => formatMicroTime(date)).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }));
  });
});

describe('parseMicroTime', () => {
  it('reads what formatMicroTime writes, truncating microseconds to milliseconds', () => {
    expect(parseMicroTime('2024-05-01T12:00:00.123456Z').toISOString()).toBe('2024-05-01T12:00:00.123Z');
    const date = new Date('2031-02-28T23:59:59.007Z');
    expect(parseMicroTime(formatMicroTime(date)).getTime()).toBe(date.getTime());
    expect(parseMicroTime('0050-06-01T00:00:00.000000Z').getUTCFullYear()).toBe(50);
  });

  it.each([
    ['JavaScript ISO form', '2024-05-01T12:00:00.123Z'],
    ['no fraction', '2024-05-01T12:00:00Z'],
    ['nine digits', '2024-05-01T12:00:00.123456789Z'],
    ['an offset instead of Z', '2024-05-01T12:00:00.123456+00:00'],
    ['lower-case z', '2024-05-01T12:00:00.123456z'],
    ['a space separator', '2024-05-01 12:00:00.123456Z'],
    ['month 13', '2024-13-01T12:00:00.123456Z'],
    ['30 February', '2024-02-30T12:00:00.123456Z'],
    ['hour 24', '2024-05-01T24:00:00.000000Z'],
    ['a leap second', '2016-12-31T23:59:60.000000Z'],
    ['surrounding spaces', ' 2024-05-01T12:00:00.123456Z'],
    ['an empty string', ''],
  ])('rejects %s with CERTLOOP_INVALID_ARGUMENT', (_name, text) => {
    expect(() => parseMicroTime(text)).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }));
  });

  it('rejects a non-string with CERTLOOP_INVALID_ARGUMENT', () => {
    expect(() => parseMicroTime(1_714_564_800_000 as unknown as string)).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }),
    );
  });
});
