#!/usr/bin/env node
/**
 * The `certloop` executable: runs the program with the process's streams and exits with its status.
 *
 * The process is held open until the command resolves: certloop's libraries unref their timers (retry backoff,
 * token renewal, watches) so they never keep a program alive, and a command waiting on one of them must not be
 * cut short by an empty event loop.
 */
import { processContext } from './lib/context.js';
import { runCli } from './program.js';

const keepAlive = setInterval(() => {}, 2 ** 30);
try {
  process.exitCode = await runCli(process.argv.slice(2), processContext());
} finally {
  clearInterval(keepAlive);
}
