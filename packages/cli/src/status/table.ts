/**
 * `certloop` status table: one line per relay secret, fitted to the width (80 columns off a terminal), coloured
 * by state when colours are on.
 */
import { shortDuration } from '../lib/durations.js';
import { type Colors, renderTable } from '../lib/terminal.js';
import type { SecretStatus } from './board.js';

/** `CN=relay-server` shows as `relay-server`; other names in full (RFC 4514). */
export function shortName(dn: string | undefined): string {
  if (!dn) return '-';
  const m = /^CN=([^,]+)$/.exec(dn);
  return m ? m[1]! : dn;
}

const day = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : '-');

export function stateColor(c: Colors, state: string): (text: string) => string {
  switch (state) {
    case 'ok':
      return c.green;
    case 'renewal-due':
    case 'not-yet-valid':
      return c.yellow;
    default:
      return c.red;
  }
}

export function renderStatusTable(rows: readonly SecretStatus[], options: { width: number; colors: Colors }): string {
  const c = options.colors;
  const cells = rows.map((r) => [
    r.role,
    r.state,
    r.state === 'missing' ? '-' : r.managed ? 'certloop' : 'byo',
    r.role === 'token'
      ? r.state === 'ok'
        ? '(token)'
        : (r.errorCode ?? '-')
      : r.errorCode && r.state === 'invalid'
        ? r.errorCode
        : shortName(r.subject),
    shortName(r.issuer),
    day(r.notAfter),
    day(r.renewAt),
    r.secondsLeft === undefined ? '-' : shortDuration(r.secondsLeft),
  ]);
  return renderTable(
    [
      { header: 'SECRET', width: 7 },
      { header: 'STATE', width: 13 },
      { header: 'OWNER', width: 8 },
      { header: 'SUBJECT', min: 8 },
      { header: 'ISSUER', min: 8 },
      { header: 'NOT AFTER', width: 10 },
      { header: 'RENEW AT', width: 10 },
      { header: 'LEFT', width: 5 },
    ],
    cells,
    {
      width: options.width,
      gap: 1,
      header: c.bold,
      paint: (row, column, text) =>
        column === 1
          ? stateColor(c, rows[row]!.state)(text)
          : column === 2 && text.startsWith('byo')
            ? c.cyan(text)
            : text,
    },
  );
}
