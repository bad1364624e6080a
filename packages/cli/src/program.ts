/**
 * `certloop` program: commander with the registered commands, global flags (`--debug`, `--no-color`), and
 * errors turned into one line with a documented exit status.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import type { CliCommand } from './lib/command.js';
import type { CliContext } from './lib/context.js';
import { cliError, EXIT, exitStatusOf, formatDebug, formatError } from './lib/errors.js';
import { fitHelpToTerminal } from './lib/help-width.js';
import { applyStoreContext } from './lib/store-context.js';

/** The package version (read when asked, not at import). */
export function cliVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

const EXIT_TEXT = `
Exit status:
  0  success, and every secret checked is usable
  1  a check failed (status: expired, invalid, missing, not yet valid; inspect: chain or key)
  2  bad flags or arguments
  3  an input file is unreadable or not a valid certificate, CSR or key
  4  the store or CA cannot be reached (I/O, network, authentication, permission)
  5  refused (CA policy, bring-your-own secret, no such secret, output file exists)
  6  not available in this build
  70 internal error (run with --debug and report it)

Environment: CERTLOOP_STORE, CERTLOOP_DIR, CERTLOOP_CONTEXT and CERTLOOP_HOME (certloop context), CERTLOOP_NAMESPACE, CERTLOOP_CA, KUBECONFIG, VAULT_ADDR, VAULT_TOKEN,
VAULT_ROLE_ID, VAULT_SECRET_ID, CERTLOOP_VAULT_MOUNT, CERTLOOP_VAULT_ROLE, CERTLOOP_CONFIG (server, agent),
NO_COLOR (no colours), FORCE_COLOR, CERTLOOP_DEBUG=1 (as --debug).
`;

/** Gives a command and its subcommands (`certloop ca status`...) the program's settings: exitOverride, output. */
function inherit(command: Command, parent: Command): void {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inherit(sub, command);
}

export function createProgram(context: CliContext, commands: readonly CliCommand[] = COMMANDS): Command {
  const program = new Command('certloop')
    .description('certloop: the certificates of a management-server/agent relay, from bootstrap to rotation')
    .version(cliVersion(), '-V, --version')
    .option('--debug', 'show the stack of an error')
    .option('--no-color', 'no colours, even on a terminal')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => context.stdout.write(s),
      writeErr: (s) => context.stderr.write(s),
      outputError: () => {},
    })
    .addHelpText('after', EXIT_TEXT);
  for (const definition of commands) {
    const command = definition.create(context);
    inherit(command, program);
    program.addCommand(command);
  }
  // the default store (certloop context): fills the store flags the command line and the environment left unset
  program.hook('preAction', (_program, action) =>
    action.parent?.name() === 'context' ? undefined : applyStoreContext(action, context),
  );
  fitHelpToTerminal(program, context);
  return program;
}

/** Runs the program on `argv` (without node and script); resolves the exit status. Never throws. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const debug = argv.includes('--debug') || context.env.CERTLOOP_DEBUG === '1';
  try {
    const program = createProgram(context);
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (caught) {
    let err = caught;
    if (caught instanceof CommanderError) {
      if (caught.exitCode === 0) return EXIT.ok; // --help, --version
      if (caught.code === 'commander.help' || caught.code === 'commander.helpDisplayed') return EXIT.usage;
      err = cliError('CERTLOOP_USAGE', caught.message.replace(/^error: /, ''), undefined, caught);
    }
    context.stderr.write(`${formatError(err)}\n`);
    if (debug) context.stderr.write(`${formatDebug(err)}\n`);
    return exitStatusOf(err);
  }
}
