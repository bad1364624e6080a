/**
 * `@certloop/vault-signer/testing` internal: Vault's duration strings (`24h`, `1h30m`, `3600`, `3600s`), parsed to
 * seconds and written the way Go's `time.Duration` prints them (`720h0m0s`), as Vault's warnings do.
 */
import { VaultHttpError } from './http.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds from a number or a duration string; `undefined`, '' and 0 give 0. Bad input: 400. */
export function parseDuration(value: unknown, field = 'ttl'): number {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return Number(value);
    const parts = [...value.matchAll(/(\d+)([smhd])/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join('') === value) {
      return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]!]!, 0);
    }
  }
  throw new VaultHttpError(400, [`error converting input ${String(value)} for field "${field}": invalid duration`]);
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
