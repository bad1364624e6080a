/**
 * Test support (not published): runs the `certloop` program in the test's own process (`runCli`, the same program
 * the binary runs), with captured output, for tests that run many commands and cannot pay a process start each.
 */
import { Readable } from 'node:stream';
import { runCli } from '../program.js';
import type { RunResult } from './spawn.js';

export async function runInProcess(args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const context = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    },
    stdin: Readable.from([]),
    env: { NO_COLOR: '1' },
    cwd: options.cwd ?? process.cwd(),
    signal: new AbortController().signal,
    exitCode: 0,
  };
  const code = await runCli(args, context);
  return { code, stdout, stderr };
}
