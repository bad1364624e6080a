/**
 * `certloop` log lines of long-running commands: structured JSON lines (`{"time","level","msg",...}`) when the
 * stream is not a terminal, so a log collector can read them; short human lines on a terminal.
 */
import type { OutputStream } from './context.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/**
 * `level` (default `info`) drops lines below it: per-connection lines (connection counts, heartbeats) are `debug`,
 * so a fleet of thousands of agents does not cost a log line per stream unless asked.
 */
export function createLogger(
  stream: OutputStream,
  options: { json?: boolean; now?: () => Date; level?: LogLevel } = {},
): Logger {
  const json = options.json ?? stream.isTTY !== true;
  const now = options.now ?? (() => new Date());
  const floor = LOG_LEVELS.indexOf(options.level ?? 'info');
  return {
    log(level, msg, fields = {}) {
      if (LOG_LEVELS.indexOf(level) < floor) return;
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
