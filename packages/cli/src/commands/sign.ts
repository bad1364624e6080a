/**
 * `certloop sign CSR|-`: signs a CSR with the store's signing CA (or `--ca vault`), under the CA's policy, and
 * writes the certificate with its chain (as `tls.crt` holds it) and optionally the trust bundle.
 */
import type { CertificateProfile } from '@certloop/core';
import { Command } from 'commander';
import { openCertificateAuthority } from '../ca-factory.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { readTextInput, writeOutputFiles } from '../lib/io.js';
import { addCaOptions, addStoreOptions, caFlags, examples, storeFlags } from '../lib/options.js';
import { profileOption } from '../lib/profiles.js';
import { openStore } from '../store-factory.js';

async function run(context: CliContext, command: Command, csrFile: string): Promise<void> {
  const opts = command.opts();
  const lifetimeSeconds = parseDuration(String(opts.lifetime), '--lifetime');
  const csrPem = await readTextInput(csrFile, context);
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  let closeCa = () => {};
  try {
    const { ca, close } = await openCertificateAuthority({
      flags: caFlags(opts),
      store: opened.store,
      signal: context.signal,
      env: context.env,
    });
    closeCa = close;
    const result = await ca.sign(
      { csrPem, lifetimeSeconds, profile: opts.profile as CertificateProfile },
      { signal: context.signal },
    );
    const bundle = result.certificatePem + result.chainPem;
    const files = [
      ...(opts.certOut ? [{ path: String(opts.certOut), content: bundle }] : []),
      ...(opts.caOut ? [{ path: String(opts.caOut), content: result.trustBundlePem }] : []),
    ];
    await writeOutputFiles(files, { cwd: context.cwd, force: opts.force === true });
    if (!opts.certOut) context.stdout.write(bundle);
    context.stderr.write(`signed serial ${result.serialNumber}, not after ${result.notAfter.toISOString()}\n`);
  } finally {
    closeCa();
    await opened.close();
  }
}

export const signCommand: CliCommand = {
  name: 'sign',
  create(context) {
    const command = new Command('sign')
      .summary("sign a CSR with the store's signing CA")
      .description(
        "Signs a PKCS#10 CSR with the store's signing CA (relay-tls-signing-secret), or Vault with --ca vault,\n" +
          "under the CA's policy (key types and sizes, SAN forms, longest lifetime, no CA:TRUE). Writes the\n" +
          'certificate followed by its chain (mode 0600), to standard output unless --cert-out is given.\n\n' +
          'Exit status: 0 signed; 2 bad flags; 3 unreadable or invalid CSR; 4 store unreachable; 5 refused by\n' +
          'the CA policy or no signing CA; 6 CA kind not available in this build.',
      )
      .argument('<csr>', 'the CSR file, or - for standard input');
    addStoreOptions(command);
    addCaOptions(command);
    command
      .addOption(profileOption('client'))
      .option('--lifetime <duration>', 'requested lifetime', '90d')
      .option('--cert-out <file>', 'write the certificate and chain here')
      .option('--ca-out <file>', 'write the trust bundle (ca.crt) here')
      .option('--force', 'replace output files that exist')
      .addHelpText(
        'after',
        examples(
          'certloop sign agent.csr --dir ./secrets --profile client --lifetime 30d --cert-out agent.crt',
          'certloop csr --cn relay-server --key server.key | certloop sign - --dir ./secrets --profile server',
        ),
      )
      .action(async (csr: string, _opts, cmd: Command) => run(context, cmd, csr));
    return command;
  },
};
