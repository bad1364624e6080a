/**
 * `certloop` command context: the streams, environment and abort signal a command runs with, so the same
 * commands run from the binary and from a program that embeds them.
 */
import type { Readable, Writable } from 'node:stream';

export interface OutputStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliContext {
  readonly stdout: OutputStream & Partial<Pick<Writable, 'write'>>;
  readonly stderr: OutputStream;
  readonly stdin: Readable;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly and resolve. */
  readonly signal: AbortSignal;
  /** Set by a command that finishes with a non-zero status without an error (e.g. `status` finding trouble). */
  exitCode: number;
}

/** The context of the real process, with `signal` aborted on SIGINT or SIGTERM. */
export function processContext(): CliContext {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('signal'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // created only when a command reads it (`-`): an unread standard input must not hold the process open
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    exitCode: 0,
  };
}
