import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renewalTime } from './renewal-time.js';

const day = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00Z');

describe('renewalTime', () => {
  it.each([
    { name: '365 days at 0.1 renews 36.5 days before expiry', days: 365, ratio: 0.1, before: 36.5 * day },
    { name: '30 days at 1/3 renews 10 days before expiry', days: 30, ratio: 1 / 3, before: 10 * day },
    { name: '20 s at 0.5 renews after 10 s', days: 20_000 / day, ratio: 0.5, before: 10_000 },
  ])('$name', ({ days, ratio, before }) => {
    const notAfter = new Date(t0.getTime() + days * day);
    expect(renewalTime({ notBefore: t0, notAfter, ratio }).getTime()).toBe(notAfter.getTime() - before);
  });

  it.each([0, 1, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects ratio %s with a typed error', (ratio) => {
    expect(() => renewalTime({ notBefore: t0, notAfter: new Date(t0.getTime() + day), ratio })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });

  it.each([-0.1, 1, 2, Number.NaN])('rejects jitter %s with a typed error', (jitter) => {
    expect(() =>
      renewalTime({ notBefore: t0, notAfter: new Date(t0.getTime() + day), ratio: 0.1, jitter }),
    ).toThrowError(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
  });

  it('rejects a validity window that ends before it starts', () => {
    expect(() => renewalTime({ notBefore: t0, notAfter: t0, ratio: 0.1 })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_ARGUMENT' }),
    );
  });

  it('gives whole seconds even for sub-second inputs', () => {
    const at = renewalTime({
      notBefore: new Date(t0.getTime() + 123),
      notAfter: new Date(t0.getTime() + 7 * day + 999),
      ratio: 0.3,
    });
    expect(at.getTime() % 1000).toBe(0);
  });

  describe('properties', () => {
    const window = fc
      .record({
        start: fc.integer({ min: 0, max: 4_000_000_000 }),
        life: fc.integer({ min: 1, max: 20 * 365 * 86_400 }),
        ratio: fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }),
        jitter: fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        draw: fc.double({ min: 0, max: 0.999_999_999, noNaN: true }),
      })
      .map((r) => ({ ...r, notBefore: new Date(r.start * 1000), notAfter: new Date((r.start + r.life) * 1000) }));

    it('stays within the validity window, in whole seconds', () => {
      fc.assert(
        fc.property(window, ({ notBefore, notAfter, ratio, jitter, draw }) => {
          const at = renewalTime({ notBefore, notAfter, ratio, jitter, random: () => draw }).getTime();
          return at >= notBefore.getTime() && at < notAfter.getTime() && at % 1000 === 0;
        }),
      );
    });

    it('jitter never moves renewal later than the ratio promises', () => {
      fc.assert(
        fc.property(window, ({ notBefore, notAfter, ratio, jitter, draw }) => {
          const plain = renewalTime({ notBefore, notAfter, ratio }).getTime();
          const jittered = renewalTime({ notBefore, notAfter, ratio, jitter, random: () => draw }).getTime();
          return jittered <= plain;
        }),
      );
    });

    it('jitter moves renewal earlier by at most jitter * ratio * lifetime (plus rounding)', () => {
      fc.assert(
        fc.property(window, ({ notBefore, notAfter, ratio, jitter, draw }) => {
          const life = (notAfter.getTime() - notBefore.getTime()) / 1000;
          const plain = renewalTime({ notBefore, notAfter, ratio }).getTime() / 1000;
          const jittered = renewalTime({ notBefore, notAfter, ratio, jitter, random: () => draw }).getTime() / 1000;
          return plain - jittered <= jitter * ratio * life + 1;
        }),
      );
    });

    it('the time left at renewal is at least ratio * lifetime', () => {
      fc.assert(
        fc.property(window, ({ notBefore, notAfter, ratio }) => {
          const life = (notAfter.getTime() - notBefore.getTime()) / 1000;
          const at = renewalTime({ notBefore, notAfter, ratio }).getTime();
          const left = (notAfter.getTime() - at) / 1000;
          return left >= ratio * life - 1e-6 || at === notBefore.getTime();
        }),
      );
    });

    it('a larger ratio never renews later', () => {
      fc.assert(
        fc.property(window, fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }), (w, other) => {
          const [lo, hi] = w.ratio < other ? [w.ratio, other] : [other, w.ratio];
          const a = renewalTime({ notBefore: w.notBefore, notAfter: w.notAfter, ratio: lo }).getTime();
          const b = renewalTime({ notBefore: w.notBefore, notAfter: w.notAfter, ratio: hi }).getTime();
          return b <= a;
        }),
      );
    });
  });
});
