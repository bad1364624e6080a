/**
 * `certloop context`: the default store, by name (lib/store-context.ts): `list` the contexts, `use NAME` to make one
 * current, `set NAME --dir DIR` (or `--store kubernetes ...`) to add or change one. Then `certloop status` needs no
 * `--dir`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseDocument } from 'yaml';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { cliError } from '../lib/errors.js';
import { examples } from '../lib/options.js';
import { CONTEXT_KEYS, contextsPath, readContexts, type StoreContext } from '../lib/store-context.js';
import { renderTable } from '../lib/terminal.js';
import { STORE_KINDS } from '../store-factory.js';

const where = (c: StoreContext) =>
  c.store === 'kubernetes'
    ? [c.context && `context ${c.context}`, `namespace ${c.namespace ?? 'gloo-mesh'}`, c.kubeconfig]
        .filter(Boolean)
        .join(', ')
    : (c.dir ?? '-');

async function edit(context: CliContext, change: (doc: ReturnType<typeof parseDocument>) => void): Promise<string> {
  const path = contextsPath(context.env);
  const text = await readFile(path, 'utf8').catch(() => '');
  const doc = parseDocument(text || 'contexts: {}\n');
  change(doc);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, doc.toString(), { mode: 0o600 });
  return path;
}

export const contextCommand: CliCommand = {
  name: 'context',
  create(context) {
    const command = new Command('context')
      .summary('name stores and pick the default one (no --dir on every call)')
      .description(
        `Names stores and picks the one commands use when no --store/--dir is given, as kubeconfig contexts do.
The contexts live in $CERTLOOP_HOME/contexts.yaml (default ~/.certloop/contexts.yaml); CERTLOOP_CONTEXT=NAME picks
another for one call. A flag on the command line, then its environment variable (CERTLOOP_DIR, ...), win over the
context.`,
      )
      .addHelpText(
        'after',
        examples(
          'certloop context set dev --dir ./secrets && certloop context use dev',
          'certloop status                              # the dev store, no --dir',
          'certloop context set prod --store kubernetes --context prod-admin --namespace gloo-mesh',
          'CERTLOOP_CONTEXT=prod certloop status',
          'certloop context list',
        ),
      );
    command
      .command('list')
      .description('the contexts, the current one marked')
      .action(async () => {
        const file = await readContexts(context.env);
        const current = context.env.CERTLOOP_CONTEXT || file?.current;
        const rows = Object.entries(file?.contexts ?? {}).map(([name, c]) => [
          name === current ? '*' : '',
          name,
          c.store ?? 'file',
          where(c),
        ]);
        if (rows.length === 0) {
          context.stdout.write(
            `no contexts in ${contextsPath(context.env)}: add one with certloop context set NAME --dir DIR\n`,
          );
          return;
        }
        context.stdout.write(
          renderTable([{ header: 'CURRENT' }, { header: 'NAME' }, { header: 'STORE' }, { header: 'WHERE' }], rows, {
            width: Number.POSITIVE_INFINITY,
          }),
        );
      });
    command
      .command('use')
      .description('make NAME the current context')
      .argument('<name>')
      .action(async (name: string) => {
        const file = await readContexts(context.env);
        if (!file?.contexts[name]) {
          const known = Object.keys(file?.contexts ?? {});
          throw cliError(
            'CERTLOOP_NOT_FOUND',
            `no context ${JSON.stringify(name)} in ${contextsPath(context.env)}`,
            known.length ? `contexts: ${known.join(', ')}` : `add it first: certloop context set ${name} --dir DIR`,
          );
        }
        const path = await edit(context, (doc) => doc.set('current-context', name));
        context.stdout.write(`current context: ${name} (${path})\n`);
      });
    command
      .command('set')
      .description('add or change the context NAME (a file store by default)')
      .argument('<name>')
      .addOption(new Option('--store <kind>', 'where the secrets are').choices(STORE_KINDS))
      .option('--dir <dir>', 'file store: the directory of secrets')
      .option('--kubeconfig <file>', 'kubernetes store: the kubeconfig to use')
      .option('--context <name>', 'kubernetes store: the kubeconfig context')
      .option('--namespace <ns>', 'kubernetes store: the namespace')
      .action(async (name: string, opts: StoreContext) => {
        const settings: StoreContext = {};
        for (const key of CONTEXT_KEYS) if (opts[key] !== undefined) settings[key] = opts[key];
        if (settings.dir) settings.dir = resolve(context.cwd, settings.dir);
        if ((settings.store ?? 'file') === 'file' && !settings.dir) {
          throw cliError('CERTLOOP_USAGE', 'a file-store context needs --dir', 'pass --dir DIR, or --store kubernetes');
        }
        const path = await edit(context, (doc) => doc.setIn(['contexts', name], settings));
        context.stdout.write(`context ${name}: ${settings.store ?? 'file'} ${where(settings)} (${path})\n`);
      });
    return command;
  },
};
