/**
 * `certloop` status table: one line per relay secret (its role and its name, either of which every command takes),
 * coloured by state when colours are on. On a terminal it fits the width; off a terminal (or with `--wide`) nothing
 * is cut. Ends are to the second for short lifetimes; renewal and time left are relative to now.
 */
import { shortDuration } from '../lib/durations.js';
import { type Colors, renderTable } from '../lib/terminal.js';
import type { SecretStatus } from './board.js';
import { endTime, relativeTime } from './times.js';

/** `CN=relay-server` shows as `relay-server`; other names in full (RFC 4514). */
export function shortName(dn: string | undefined): string {
  if (!dn) return '-';
  const m = /^CN=([^,]+)$/.exec(dn);
  return m ? m[1]! : dn;
}

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

export interface StatusTableOptions {
  /** Columns to fit; `Infinity` cuts nothing. */
  readonly width: number;
  readonly colors: Colors;
  /** What relative times count from (default: the time of the call). */
  readonly now?: Date;
}

export function renderStatusTable(rows: readonly SecretStatus[], options: StatusTableOptions): string {
  const c = options.colors;
  const now = options.now ?? new Date();
  const cells = rows.map((r) => [
    r.role,
    r.name,
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
    endTime(r.notAfter, r.notBefore),
    relativeTime(r.renewAt, now),
    r.secondsLeft === undefined ? '-' : shortDuration(r.secondsLeft),
  ]);
  return renderTable(
    [
      { header: 'ROLE', width: 7 },
      { header: 'NAME', min: 12 },
      { header: 'STATE', width: 13 },
      { header: 'OWNER', width: 8 },
      { header: 'SUBJECT', min: 8 },
      { header: 'ISSUER', min: 8 },
      { header: 'NOT AFTER', keep: true },
      { header: 'RENEW AT', keep: true },
      { header: 'LEFT', width: 5 },
    ],
    cells,
    {
      width: options.width,
      gap: 1,
      header: c.bold,
      paint: (row, column, text) =>
        column === 2
          ? stateColor(c, rows[row]!.state)(text)
          : column === 3 && text.startsWith('byo')
            ? c.cyan(text)
            : text,
    },
  );
}
