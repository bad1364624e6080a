/**
 * `certloop` command modules: each command is one file under `commands/` exporting a {@link CliCommand}, and the
 * registration list in `commands/index.ts` says which the program has. A new command (`server`, `agent`, `demo`)
 * is a new file and one line in that list.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

export interface CliCommand {
  readonly name: string;
  /** Builds the commander command; its action runs with `context`. */
  create(context: CliContext): Command;
}
