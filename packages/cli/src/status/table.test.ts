/**
 * The status table (issue 17, item 6): a 20 s and a 1 h certificate do not look alike (ends to the second for short
 * lifetimes), renewal and time left are relative to now, nothing is cut off a terminal (or with --wide), and on a
 * terminal the table fits its width.
 */
import { DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { colors } from '../lib/terminal.js';
import type { SecretStatus } from './board.js';
import { renderStatusTable } from './table.js';
import { endTime, relativeTime } from './times.js';

const now = new Date('2026-12-05T12:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);

const rows: SecretStatus[] = [
  {
    role: 'server',
    name: N.server,
    state: 'ok',
    managed: true,
    subject: 'CN=relay-server,O=a rather long organisation name that would not fit',
    issuer: 'CN=certloop relay signing CA',
    notBefore: at(-600),
    notAfter: at(3000),
    renewAt: at(2640),
    secondsLeft: 3000,
  },
  {
    role: 'client',
    name: N.client,
    state: 'renewal-due',
    managed: true,
    subject: 'CN=cluster-1',
    issuer: 'CN=certloop relay signing CA',
    notBefore: at(-11),
    notAfter: at(9),
    renewAt: at(-1),
    secondsLeft: 9,
  },
  {
    role: 'root',
    name: N.root,
    state: 'ok',
    managed: true,
    subject: 'CN=certloop relay root CA',
    issuer: 'CN=certloop relay root CA',
    notBefore: at(-86_400),
    notAfter: at(10 * 365 * 86_400),
    renewAt: at(9 * 365 * 86_400),
    secondsLeft: 10 * 365 * 86_400,
  },
];

describe('status table times', () => {
  it('ends to the second for short lifetimes, to the day for long ones', () => {
    expect(endTime(at(9), at(-11))).toBe('2026-12-05 12:00:09Z');
    expect(endTime(at(3000), at(-600))).toBe('2026-12-05 12:50:00Z');
    expect(endTime(at(10 * 365 * 86_400), at(-86_400))).toBe('2036-12-02');
    expect(endTime(undefined, undefined)).toBe('-');
  });

  it('relative times: in 19s, 3m ago, now', () => {
    expect(relativeTime(at(19), now)).toBe('in 19s');
    expect(relativeTime(at(-180), now)).toBe('3m ago');
    expect(relativeTime(at(36 * 86_400), now)).toBe('in 36d');
    expect(relativeTime(now, now)).toBe('now');
  });
});

describe('status table', () => {
  it('off a terminal (width Infinity) cuts nothing and shows role, name, short ends and relative renewals', () => {
    const text = renderStatusTable(rows, { width: Number.POSITIVE_INFINITY, colors: colors(false), now });
    expect(text).not.toContain('…');
    expect(text).toContain('CN=relay-server,O=a rather long organisation name that would not fit');
    const lines = text.trimEnd().split('\n');
    expect(lines[1]).toMatch(
      new RegExp(`^server\\s+${N.server}\\s+ok\\s+certloop\\s.*2026-12-05 12:50:00Z\\s+in 44m\\s+50m$`),
    );
    expect(lines[2]).toMatch(/^client\s+\S+\s+renewal-due\s.*2026-12-05 12:00:09Z\s+1s ago\s+9s$/);
    expect(lines[3]).toMatch(/2036-12-02\s+in 9y\s+10y$/);
  });

  it('on a terminal fits its width, cutting only the long names', () => {
    const text = renderStatusTable(rows, { width: 120, colors: colors(false), now });
    for (const line of text.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(120);
    expect(text).toContain('…');
    expect(text).toContain('2026-12-05 12:00:09Z'); // the times stay whole
  });
});
