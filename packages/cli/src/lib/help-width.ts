/**
 * `certloop --help` wrapped to the terminal's width: descriptions are written as paragraphs (the line breaks in the
 * sources are only for reading them there), commander wraps them to the width of the stream help goes to (80 off a
 * terminal). Indented lines (lists, tables, examples) are kept as written.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Joins the lines of each paragraph, unless a paragraph holds indented lines (then it is kept as written). */
export function reflow(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((paragraph) => (/\n\s/.test(paragraph) ? paragraph : paragraph.replace(/\n/g, ' ')))
    .join('\n\n');
}

/** Help on `context`'s streams at their width, every command's description reflowed. */
export function fitHelpToTerminal(program: Command, context: CliContext): void {
  const width = (stream: CliContext['stdout'] | CliContext['stderr']) =>
    stream.isTTY ? Math.max(40, stream.columns ?? 80) : 80;
  const visit = (command: Command) => {
    command.configureOutput({
      getOutHelpWidth: () => width(context.stdout),
      getErrHelpWidth: () => width(context.stderr),
    });
    const description = command.description();
    if (description) command.description(reflow(description));
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
