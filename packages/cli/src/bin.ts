#!/usr/bin/env node
/**
 * The `certloop` executable: runs the program with the process's streams and exits with its status.
 */
import { processContext } from './lib/context.js';
import { runCli } from './program.js';

const status = await runCli(process.argv.slice(2), processContext());
process.exitCode = status;
