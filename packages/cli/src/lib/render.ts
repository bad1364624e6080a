/**
 * `certloop` structured output: JSON (two-space indent) or YAML of plain data (dates as ISO strings).
 */
import { stringify } from 'yaml';
import type { OutputFormat } from './options.js';

/** Plain data: dates as ISO strings, undefined fields dropped. */
export function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

export function renderData(format: Exclude<OutputFormat, 'text'>, value: unknown): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  return stringify(plain(value), { lineWidth: 0 });
}
