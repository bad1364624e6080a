/**
 * Test support (not published): runs `certloop args...` inside the test's process through `runCli`, the function
 * the binary runs, with its own streams, environment and working directory. For tests that run many short commands
 * (walking advice, names); the binary itself, its exit statuses and signals are tested by spawn.ts's runCertloop.
 */
import { Readable } from 'node:stream';
import type { CliContext } from '../lib/context.js';
import { runCli } from '../program.js';
import type { RunResult } from './spawn.js';

export interface InProcessOptions {
  readonly cwd: string;
  readonly env?: Record<string, string>;
  readonly input?: string;
  /** Pretend standard output is a terminal this wide. */
  readonly columns?: number;
}

/** Runs `certloop args...` to its end; `code` is the exit status the binary would have. */
export async function runInProcess(args: readonly string[], options: InProcessOptions): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const context: CliContext = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
      isTTY: options.columns !== undefined,
      columns: options.columns,
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    },
    stdin: Readable.from([options.input ?? '']),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...options.env },
    cwd: options.cwd,
    signal: new AbortController().signal,
    exitCode: 0,
  };
  const code = await runCli(args, context);
  return { code, stdout, stderr };
}

/** A command line as advice prints it (`certloop rotate server --dir d`), as the argv after `certloop`. */
export function argvOf(commandLine: string): string[] {
  const words = commandLine.trim().split(/\s+/);
  if (words[0] !== 'certloop') throw new Error(`not a certloop command: ${commandLine}`);
  return words.slice(1);
}
