/**
 * `certloop` global flags as a command sees them: colours and width for its standard output.
 */
import type { Command } from 'commander';
import type { CliContext, OutputStream } from './context.js';
import { type Colors, colors, useColor } from './terminal.js';

export interface OutputStyle {
  readonly colors: Colors;
  /** Table width: the terminal's; `Infinity` off a terminal or with `--wide` (nothing is cut). */
  readonly width: number;
}

export function outputStyle(command: Command, context: CliContext, stream: OutputStream = context.stdout): OutputStyle {
  const globals = command.optsWithGlobals() as { color?: boolean; wide?: boolean };
  const enabled = useColor({ isTTY: stream.isTTY, env: context.env, flag: globals.color });
  const width = stream.isTTY && globals.wide !== true ? Math.max(60, stream.columns ?? 80) : Number.POSITIVE_INFINITY;
  return { colors: colors(enabled), width };
}

/**
 * Resolves when the command is asked to stop (SIGINT, SIGTERM). Holds the process open meanwhile: certloop's
 * timers and file watches do not (they are unref'd so a library never keeps a program alive).
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  const keepAlive = setInterval(() => {}, 2 ** 30);
  return new Promise((resolve) =>
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive);
        resolve();
      },
      { once: true },
    ),
  );
}
