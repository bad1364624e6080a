/**
 * `certloop` durations: `90s`, `30m`, `12h`, `365d`, `1y` (365 days), or a combination such as `1d12h`; and the
 * short form of a time left (`364d`, `23h`, `5m`, `-2d` once expired).
 */
import { cliError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 };

/** Whole seconds of a duration flag; throws `CERTLOOP_USAGE` for anything else. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  let total = 0;
  let rest = trimmed;
  while (rest.length > 0) {
    const m = /^(\d+)([smhdwy])/.exec(rest);
    if (!m) break;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (trimmed.length === 0 || rest.length > 0 || total <= 0 || !Number.isSafeInteger(total)) {
    throw cliError(
      'CERTLOOP_USAGE',
      `${flag} ${JSON.stringify(text)} is not a duration`,
      'write it as 90s, 30m, 12h, 365d or 1y',
    );
  }
  return total;
}

/** A time left, in the largest whole unit: `364d`, `23h`, `59m`, `30s`; negative once past. */
export function shortDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s >= 2 * 365 * 86_400) return `${sign}${Math.floor(s / (365 * 86_400))}y`;
  if (s >= 86_400) return `${sign}${Math.floor(s / 86_400)}d`;
  if (s >= 3600) return `${sign}${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${sign}${Math.floor(s / 60)}m`;
  return `${sign}${Math.floor(s)}s`;
}
