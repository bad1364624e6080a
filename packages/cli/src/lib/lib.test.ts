import { CertloopError } from '@certloop/core';
import { describe, expect, it } from 'vitest';
// the repository's publish script, shared by every package's prepack
import { publishManifest } from '../../../../scripts/publish-manifest.mjs';
import { parseDuration, shortDuration } from './durations.js';
import { cliError, EXIT, exitStatusOf, formatError } from './errors.js';
import { renderTable, truncate, useColor } from './terminal.js';

describe('durations', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['12h', 43_200],
    ['365d', 365 * 86_400],
    ['1y', 365 * 86_400],
    ['1d12h', 129_600],
    ['2w', 14 * 86_400],
  ])('%s is %i seconds', (text, seconds) => expect(parseDuration(text, '--lifetime')).toBe(seconds));

  it.each(['', '10', '3 parsecs', '0s', '-1d', 'd'])('%j is refused with CERTLOOP_USAGE', (text) => {
    expect(() => parseDuration(text, '--lifetime')).toThrowError(expect.objectContaining({ code: 'CERTLOOP_USAGE' }));
  });

  it('shows time left in its largest unit, negative once past', () => {
    expect([shortDuration(30), shortDuration(3599), shortDuration(86_400 * 364), shortDuration(-2 * 86_400)]).toEqual([
      '30s',
      '59m',
      '364d',
      '-2d',
    ]);
    expect(shortDuration(10 * 365 * 86_400)).toBe('10y');
  });
});

describe('colours and tables', () => {
  it.each([
    [{ isTTY: true, env: {} }, true],
    [{ isTTY: false, env: {} }, false],
    [{ isTTY: true, env: { NO_COLOR: '1' } }, false],
    [{ isTTY: true, env: { NO_COLOR: '' } }, true],
    [{ isTTY: true, env: { TERM: 'dumb' } }, false],
    [{ isTTY: false, env: { FORCE_COLOR: '1' } }, true],
    [{ isTTY: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' } }, false],
    [{ isTTY: true, env: {}, flag: false }, false],
  ])('useColor(%j) is %s', (decision, expected) => expect(useColor(decision)).toBe(expected));

  it('fits a table to the width, cutting flexible columns with an ellipsis', () => {
    const rows = [['a', 'x'.repeat(200), 'y'.repeat(200), '2027-01-01']];
    const text = renderTable(
      [{ header: 'K', width: 7 }, { header: 'ONE' }, { header: 'TWO' }, { header: 'DATE', width: 10 }],
      rows,
      { width: 80 },
    );
    for (const line of text.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(text).toContain('…');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});

describe('errors', () => {
  it('maps codes to the documented exit statuses', () => {
    const status = (code: ConstructorParameters<typeof CertloopError>[0]) => exitStatusOf(new CertloopError(code, 'x'));
    expect(status('CERTLOOP_USAGE')).toBe(EXIT.usage);
    expect(status('CERTLOOP_FILE_UNREADABLE')).toBe(EXIT.input);
    expect(status('CERTLOOP_INVALID_PEM')).toBe(EXIT.input);
    expect(status('CERTLOOP_UNAVAILABLE')).toBe(EXIT.unavailable);
    expect(status('CERTLOOP_FORBIDDEN')).toBe(EXIT.unavailable);
    expect(status('CERTLOOP_POLICY_LIFETIME_EXCEEDED')).toBe(EXIT.refused);
    expect(status('CERTLOOP_READ_ONLY')).toBe(EXIT.refused);
    expect(status('CERTLOOP_CHAIN_EXPIRED')).toBe(EXIT.checkFailed);
    expect(status('CERTLOOP_CHECK_FAILED')).toBe(EXIT.checkFailed);
    expect(status('CERTLOOP_NOT_IMPLEMENTED')).toBe(EXIT.notImplemented);
    expect(exitStatusOf(new TypeError('bug'))).toBe(EXIT.internal);
  });

  it('formats one line: code, what went wrong, what to do', () => {
    const line = formatError(cliError('CERTLOOP_FILE_EXISTS', 'out.pem exists.\nreally'));
    expect(line).toBe(
      'certloop: CERTLOOP_FILE_EXISTS: out.pem exists. really; choose another path or pass --force to replace it',
    );
    expect(formatError(new Error('boom'))).toMatch(/^certloop: internal error: boom; run again with --debug/);
  });
});

describe('publish manifest', () => {
  it('drops the source condition and src/, and gives default where only import was', () => {
    const out = publishManifest({
      name: 'x',
      files: ['dist', 'src', '!src/**/*.test.ts', 'README.md'],
      exports: {
        '.': { source: './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' },
        './testing': {
          source: './src/testing/index.ts',
          types: './dist/testing/index.d.ts',
          default: './dist/testing/index.js',
        },
        './package.json': './package.json',
      },
      scripts: { build: 'tsup', prepack: 'a', postpack: 'b' },
    });
    expect(out).toEqual({
      name: 'x',
      files: ['dist', 'README.md'],
      exports: {
        '.': { types: './dist/index.d.ts', default: './dist/index.js' },
        './testing': { types: './dist/testing/index.d.ts', default: './dist/testing/index.js' },
        './package.json': './package.json',
      },
      scripts: { build: 'tsup' },
    });
  });

  it('publishes publishConfig.bin (the built file) as bin, in place of the clone launcher', () => {
    const out = publishManifest({
      name: 'x',
      bin: { x: './bin/x.js' },
      publishConfig: { access: 'public', bin: { x: './dist/bin.js' } },
    });
    expect(out).toEqual({ name: 'x', bin: { x: './dist/bin.js' }, publishConfig: { access: 'public' } });
  });
});
