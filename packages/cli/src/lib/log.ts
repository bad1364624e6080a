/**
 * `certloop` log lines of long-running commands: structured JSON lines (`{"time","level","msg",...}`) when the
 * stream is not a terminal, so a log collector can read them; short human lines on a terminal.
 */
import type { OutputStream } from './context.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(stream: OutputStream, options: { json?: boolean; now?: () => Date } = {}): Logger {
  const json = options.json ?? stream.isTTY !== true;
  const now = options.now ?? (() => new Date());
  return {
    log(level, msg, fields = {}) {
      if (json) {
        stream.write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`);
        return;
      }
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      stream.write(`${now().toISOString().slice(11, 19)} ${level.padEnd(5)} ${msg}${extra ? ` ${extra}` : ''}\n`);
    },
  };
}
