/**
 * `certloop csr`: makes a private key (or uses one given) and a PKCS#10 CSR for it. Files are written 0600, and
 * only when everything is ready and no target exists (unless --force).
 */
import { createCsr, generateKeyPair, importPrivateKey, KEY_ALGORITHMS, type KeyAlgorithm } from '@certloop/core';
import { Command, Option } from 'commander';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { cliError } from '../lib/errors.js';
import { readTextInput, writeOutputFiles } from '../lib/io.js';
import { examples } from '../lib/options.js';
import { withProgress } from '../lib/progress.js';
import { addSubjectOptions, subjectFlags } from '../lib/subject.js';

async function run(context: CliContext, command: Command): Promise<void> {
  const opts = command.opts();
  const subject = subjectFlags(opts);
  if (opts.key && opts.keyOut)
    throw cliError(
      'CERTLOOP_USAGE',
      '--key and --key-out exclude each other',
      'use --key to sign with an existing key, --key-out to make one',
    );
  if (!opts.key && !opts.keyOut)
    throw cliError(
      'CERTLOOP_USAGE',
      'the new key needs a file',
      'pass --key-out FILE (or --key FILE to use an existing key)',
    );
  const privateKeyPem = opts.key
    ? importPrivateKey(await readTextInput(String(opts.key), context)).privateKeyPem
    : (
        await withProgress(
          context.stderr,
          'making a key',
          generateKeyPair({ algorithm: opts.keyAlgorithm as KeyAlgorithm }),
        )
      ).privateKeyPem;
  const { csrPem } = await createCsr({ privateKeyPem, ...subject });
  const files = [
    ...(opts.keyOut ? [{ path: String(opts.keyOut), content: privateKeyPem }] : []),
    ...(opts.csrOut ? [{ path: String(opts.csrOut), content: csrPem }] : []),
  ];
  await writeOutputFiles(files, { cwd: context.cwd, force: opts.force === true });
  if (!opts.csrOut) context.stdout.write(csrPem);
  else context.stderr.write(`wrote ${files.map((f) => f.path).join(' and ')}\n`);
}

export const csrCommand: CliCommand = {
  name: 'csr',
  create(context) {
    const command = new Command('csr')
      .summary('make a private key and a certificate signing request')
      .description(
        'Makes a private key (or uses --key) and a PKCS#10 CSR naming the subject and SANs. The key never leaves\n' +
          'this machine; send the CSR to `certloop sign` (or any CA). Files are written mode 0600; the CSR goes to\n' +
          'standard output unless --csr-out is given.',
      );
    addSubjectOptions(command);
    command
      .option('--key <file>', 'use this existing private key')
      .option('--key-out <file>', 'write the new private key here')
      .addOption(
        new Option('--key-algorithm <alg>', 'algorithm of the new key').choices(KEY_ALGORITHMS).default('ECDSA-P256'),
      )
      .option('--csr-out <file>', 'write the CSR here instead of standard output')
      .option('--force', 'replace output files that exist')
      .addHelpText(
        'after',
        examples(
          'certloop csr --cn agent-1 --dns agent-1.cluster-a --key-out agent.key --csr-out agent.csr',
          'certloop csr --cn relay-server --dns relay.example.com --key server.key > server.csr',
        ),
      )
      .action(async (_opts, cmd: Command) => run(context, cmd));
    return command;
  },
};
