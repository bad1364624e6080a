/**
 * `@certloop/core` MicroTime: Kubernetes' `metav1.MicroTime` text form, `2024-05-01T12:00:00.123456Z`.
 *
 * A real kube-apiserver rejects JavaScript's `toISOString()` form (`.123Z`), so lease times are always written with
 * exactly six fractional digits, and read strictly. JavaScript dates hold milliseconds: microseconds are truncated.
 */
import { CertloopError } from '../errors.js';

const MICRO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;

/** Formats `date` as UTC with exactly 6 fractional digits. Throws `CERTLOOP_INVALID_ARGUMENT` outside years 0–9999. */
export function formatMicroTime(date: Date): string {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'formatMicroTime needs a valid Date');
  const iso = new Date(ms).toISOString();
  // Years outside 0000–9999 come out as `+010000-…`, which MicroTime cannot express.
  if (!/^\d{4}-/.test(iso)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'MicroTime years must be between 0000 and 9999', {
      details: { time: iso },
    });
  }
  return `${iso.slice(0, -1)}000Z`;
}

/** Parses a MicroTime strictly (UTC `Z`, exactly 6 fractional digits, real calendar date); else `CERTLOOP_INVALID_ARGUMENT`. */
export function parseMicroTime(text: string): Date {
  const match = typeof text === 'string' ? MICRO_TIME.exec(text) : null;
  if (!match) throw invalid(text);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const micros = match[7]!;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(micros.slice(0, 3)));
  // A rolled-over field (month 13, 31 April, hour 24, second 60) means the text was not a real time.
  const valid =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!valid) throw invalid(text);
  return date;
}

function invalid(text: unknown): CertloopError {
  return new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'not a MicroTime (expected YYYY-MM-DDTHH:MM:SS.ffffffZ)', {
    details: { value: typeof text === 'string' ? text.slice(0, 64) : typeof text },
  });
}
