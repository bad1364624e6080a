/**
 * `certloop status` times as people read them: a certificate's end to the second when its lifetime is short (a
 * 20 s and a 1 h certificate must not look alike), to the day otherwise; and times relative to now (`in 19s`,
 * `3m ago`).
 */
import { shortDuration } from '../lib/durations.js';

/** Lifetimes below this are shown to the second. */
const SHORT_LIFETIME_MS = 2 * 86_400_000;

/** `2027-12-05` for a long lifetime, `2026-12-05 23:59:41Z` for a short one, `-` when unknown. */
export function endTime(notAfter: Date | undefined, notBefore: Date | undefined): string {
  if (!notAfter) return '-';
  const iso = notAfter.toISOString();
  const short = notBefore !== undefined && notAfter.getTime() - notBefore.getTime() < SHORT_LIFETIME_MS;
  return short ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : iso.slice(0, 10);
}

/** `in 19s`, `in 36d`, `3m ago`, `now`; `-` when unknown. */
export function relativeTime(at: Date | undefined, now: Date): string {
  if (!at) return '-';
  const seconds = Math.round((at.getTime() - now.getTime()) / 1000);
  if (seconds === 0) return 'now';
  return seconds > 0 ? `in ${shortDuration(seconds)}` : `${shortDuration(-seconds)} ago`;
}
