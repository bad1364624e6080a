/**
 * `certloop demo` timeline: one line per event, `+12.3s  who  what`, coloured on a terminal only.
 */
import { stripVTControlCharacters } from 'node:util';
import type { OutputStream } from '../lib/context.js';

export interface Timeline {
  event(who: string, what: string): void;
  readonly startedAt: number;
}

export function createTimeline(stream: OutputStream, startedAt = Date.now()): Timeline {
  return {
    startedAt,
    event(who, what) {
      const t = `+${((Date.now() - startedAt) / 1000).toFixed(1)}s`.padStart(7);
      const pad = Math.max(1, 20 - stripVTControlCharacters(who).length);
      stream.write(`${t}  ${who}${' '.repeat(pad)}${what}\n`);
    },
  };
}

export const short = (serial: unknown) => (typeof serial === 'string' ? serial.slice(0, 8) : '-');
export const clockTime = (iso: unknown) => (typeof iso === 'string' ? iso.slice(11, 19) : '-');
