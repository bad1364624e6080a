/**
 * Test support (not published): runs `certloop args...` inside the test's process through `runCli`, the function
 * the binary runs (bin.ts only hands it the process's streams and sets the exit status), with its own streams,
 * environment and working directory. Starting a Node process with tsx for every command costs about a second of CPU
 * (most of a CLI test's time); in-process it costs milliseconds. The binary itself is still run: by startCertloop
 * (long-running commands, signals), by `spawn: true`, by launcher.test.ts, and by `.ci/run`, which runs this whole
 * suite again with CERTLOOP_CLI_BIN set to the built binary.
 *
 * commander reads flags' environment variables (CERTLOOP_DIR, KUBECONFIG, ...) from `process.env`, so a run swaps in
 * its environment for its duration, and runs are queued one at a time (a test file's tests run in sequence anyway).
 */
import { Readable } from 'node:stream';
import type { CliContext } from '../lib/context.js';
import { runCli } from '../program.js';

export interface InProcessOptions {
  readonly cwd?: string;
  /** The whole environment of the run. */
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string | Uint8Array;
  /** Pretend standard output is a terminal this wide. */
  readonly columns?: number;
  /** Abort the command (as SIGTERM would) after this long. */
  readonly timeoutMs?: number;
}

export interface InProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs `certloop args...` to its end; `code` is the exit status the binary would have. */
export function runInProcess(args: readonly string[], options: InProcessOptions = {}): Promise<InProcessResult> {
  const run = queue.then(() => runNow(args, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runNow(args: readonly string[], options: InProcessOptions): Promise<InProcessResult> {
  let stdout = '';
  let stderr = '';
  const env = options.env ?? { PATH: process.env.PATH, HOME: process.env.HOME };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), options.timeoutMs ?? 60_000);
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
    stdin: Readable.from(
      options.input === undefined
        ? []
        : [typeof options.input === 'string' ? options.input : Buffer.from(options.input)],
    ),
    env,
    cwd: options.cwd ?? process.cwd(),
    signal: controller.signal,
    exitCode: 0,
  };
  const saved = process.env;
  process.env = { ...env };
  try {
    const code = await runCli(args, context);
    return { code, stdout, stderr };
  } finally {
    process.env = saved;
    clearTimeout(timer);
  }
}

/** A command line as advice prints it (`certloop rotate server --dir d`), as the argv after `certloop`. */
export function argvOf(commandLine: string): string[] {
  const words = commandLine.trim().split(/\s+/);
  if (words[0] !== 'certloop') throw new Error(`not a certloop command: ${commandLine}`);
  return words.slice(1);
}
