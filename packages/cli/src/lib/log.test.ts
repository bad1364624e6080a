/**
 * Log levels of long-running commands: lines below the level are dropped (per-connection lines are debug, so
 * `certloop server` at the default `info` writes none per stream); JSON off a terminal.
 */
import { describe, expect, it } from 'vitest';
import { logServerEvent } from '../relay/events.js';
import { createLogger } from './log.js';

function sink() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (chunk: string) => lines.push(chunk) } };
}

describe('createLogger', () => {
  it('drops lines below its level (default info)', () => {
    const { lines, stream } = sink();
    const log = createLogger(stream, { now: () => new Date(0) });
    log.log('debug', 'hidden');
    log.log('info', 'shown', { n: 1 });
    log.log('error', 'also shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown', 'also shown']);
    const debug = sink();
    createLogger(debug.stream, { level: 'debug' }).log('debug', 'now shown');
    expect(debug.lines).toHaveLength(1);
    const quiet = sink();
    createLogger(quiet.stream, { level: 'warn' }).log('info', 'dropped');
    expect(quiet.lines).toHaveLength(0);
  });

  it('logs the relay server per-connection lines at debug only', () => {
    const info = sink();
    logServerEvent(createLogger(info.stream), { type: 'connections', count: 1 });
    expect(info.lines).toEqual([]);
    const debug = sink();
    logServerEvent(createLogger(debug.stream, { level: 'debug' }), { type: 'connections', count: 1 });
    expect(JSON.parse(debug.lines[0]!)).toMatchObject({ level: 'debug', msg: 'connections', count: 1 });
  });
});
