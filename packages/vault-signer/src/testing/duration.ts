/**
 * `@certloop/vault-signer/testing` internal: Vault's duration fields (`24h`, `1.5h`, `1h30m`, `3600`, `3600s`, `7d`), parsed to
 * seconds and written the way Go's `time.Duration` prints them (`720h0m0s`), as Vault's warnings do.
 */
import { VaultHttpError } from './http.js';

const GO_UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const quote = (s: string) => JSON.stringify(s);

/**
 * Go's `time.ParseDuration`, to whole seconds truncated toward zero as Vault's `int(dur.Seconds())`: a signed
 * sequence of decimal numbers with a unit each (`1.5h`, `1h30m`, `90m`, `500ms`); `0` alone needs no unit.
 * Throws Go's error text.
 */
function goDurationSeconds(text: string): number {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${quote(text)}`);
  let ns = 0;
  while (s !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart = '', fracPart] = number;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) {
      throw new Error(`time: invalid duration ${quote(text)}`);
    }
    s = s.slice(whole.length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${quote(text)}`);
    const scale = GO_UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${quote(unit)} in duration ${quote(text)}`);
    s = s.slice(unit.length);
    ns += Number(`${intPart || '0'}.${fracPart || '0'}`) * scale;
    if (ns > 2 ** 63 - 1) throw new Error(`time: invalid duration ${quote(text)}`);
  }
  return Math.trunc((sign * ns) / 1e9) + 0;
}

const GO_INT = /^[+-]?\d+$/;

/**
 * go-secure-stdlib's `parseutil.ParseDurationSecond` as Vault's `TypeDurationSecond` fields apply it, in seconds:
 * a JSON number or an integer string is seconds; `<int>d` is days; anything else is a Go duration (`1.5h`, `90m`,
 * `1h30m`, `3600s`). A fraction without unit (`1.5`, also as a JSON number), `1d12h`, `abc` and negatives are
 * refused with Vault's text (400 `Field validation failed: error converting input … for field "ttl": …`).
 */
export function parseDurationSeconds(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'boolean') throw new Error('could not parse duration from input');
  // Vault decodes JSON numbers as json.Number, then reads them as strings
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
  if (text === undefined) throw new Error('could not parse duration from input');
  if (text === '') return 0;
  if (GO_INT.test(text)) return Number(text);
  if (text.endsWith('d')) {
    const days = text.slice(0, -1);
    if (!GO_INT.test(days)) throw new Error(`strconv.ParseInt: parsing ${quote(days)}: invalid syntax`);
    return Number(days) * 86_400;
  }
  return goDurationSeconds(text);
}

/** Seconds from a duration field (see {@link parseDurationSeconds}); `undefined`, '' and 0 give 0. Bad input: 400. */
export function parseDuration(value: unknown, field = 'ttl'): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(value);
  } catch (err) {
    throw new VaultHttpError(400, [
      `Field validation failed: error converting input ${String(value)} for field ${quote(field)}: ${(err as Error).message}`,
    ]);
  }
  if (seconds < 0) {
    throw new VaultHttpError(400, [
      `Field validation failed: error converting input ${String(value)} for field ${quote(field)}: cannot provide negative value '${seconds}'`,
    ]);
  }
  return seconds;
}

/** Go's `time.Duration.String()` for whole seconds: `72h0m0s`, `1m30s`, `45s`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** A comma string or an array of strings as a trimmed list without empties. */
export function parseList(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Vault's boolean fields accept JSON booleans and the strings "true"/"false". */
export function parseBool(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  throw new VaultHttpError(400, [`cannot parse '${String(value)}' as bool`]);
}
