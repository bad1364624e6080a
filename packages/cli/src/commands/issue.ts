/**
 * `certloop issue`: a new key and a certificate for it in one step, signed by the store's signing CA (or
 * `--ca vault`); key, certificate (with chain) and optionally the trust bundle written 0600, all or nothing.
 */
import {
  type CertificateProfile,
  checkIssuedCertificate,
  createCsr,
  generateKeyPair,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
} from '@certloop/core';
import { Command, Option } from 'commander';
import { openCertificateAuthority } from '../ca-factory.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError } from '../lib/errors.js';
import { writeOutputFiles } from '../lib/io.js';
import { addCaOptions, addOutputOption, addStoreOptions, caFlags, examples, storeFlags } from '../lib/options.js';
import { profileOption } from '../lib/profiles.js';
import { withProgress } from '../lib/progress.js';
import { renderData } from '../lib/render.js';
import { addSubjectOptions, subjectFlags } from '../lib/subject.js';
import { openStore } from '../store-factory.js';

async function run(context: CliContext, command: Command): Promise<void> {
  const opts = command.opts();
  const subject = subjectFlags(opts);
  const lifetimeSeconds = parseDuration(String(opts.lifetime), '--lifetime');
  if (!opts.certOut || !opts.keyOut) {
    throw cliError(
      'CERTLOOP_USAGE',
      'issue needs --cert-out and --key-out',
      'name the files to write the certificate and key to',
    );
  }
  const profile = opts.profile as CertificateProfile;
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
    const { key, result } = await withProgress(
      context.stderr,
      'making a key and asking the CA',
      (async () => {
        const key = await generateKeyPair({ algorithm: opts.keyAlgorithm as KeyAlgorithm });
        const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, ...subject });
        const result = await ca.sign({ csrPem, lifetimeSeconds, profile }, { signal: context.signal });
        return { key, result };
      })(),
    );
    const leaf = await checkIssuedCertificate({
      result,
      privateKeyPem: key.privateKeyPem,
      expected: {
        commonName: subject.subject.commonName,
        dnsNames: subject.dnsNames,
        ipAddresses: subject.ipAddresses,
        uris: subject.uris,
      },
      profile,
      at: new Date(),
    });
    await writeOutputFiles(
      [
        { path: String(opts.keyOut), content: key.privateKeyPem },
        { path: String(opts.certOut), content: result.certificatePem + result.chainPem },
        ...(opts.caOut ? [{ path: String(opts.caOut), content: result.trustBundlePem }] : []),
      ],
      { cwd: context.cwd, force: opts.force === true },
    );
    const summary = {
      subject: leaf.subjectText,
      issuer: leaf.issuerText,
      serialNumber: leaf.serialNumber,
      notAfter: leaf.notAfter,
      certificate: opts.certOut,
      key: opts.keyOut,
      ...(opts.caOut ? { trustBundle: opts.caOut } : {}),
    };
    if (opts.output !== 'text') context.stdout.write(renderData(opts.output, summary));
    else
      context.stdout.write(
        `issued ${leaf.subjectText} (serial ${leaf.serialNumber}), not after ${leaf.notAfter.toISOString()}\nwrote ${opts.keyOut}, ${opts.certOut}${opts.caOut ? `, ${opts.caOut}` : ''}\n`,
      );
  } finally {
    closeCa();
    await opened.close();
  }
}

export const issueCommand: CliCommand = {
  name: 'issue',
  create(context) {
    const command = new Command('issue')
      .summary('make a key and a signed certificate in one step')
      .description(
        "Makes a key, a CSR and has the store's signing CA (or Vault with --ca vault) sign it under its policy;\n" +
          'writes the key, the certificate with its chain and, with --ca-out, the trust bundle (mode 0600), all\n' +
          'or nothing.\n\n' +
          'Exit status: 0 issued; 2 bad flags; 4 store unreachable; 5 refused by the CA policy, no signing CA,\n' +
          'or an output file exists (use --force); 6 CA kind not available in this build.',
      );
    addSubjectOptions(command);
    addStoreOptions(command);
    addCaOptions(command);
    addOutputOption(command);
    command
      .addOption(profileOption('server'))
      .option('--lifetime <duration>', 'requested lifetime', '90d')
      .addOption(
        new Option('--key-algorithm <alg>', 'algorithm of the new key').choices(KEY_ALGORITHMS).default('ECDSA-P256'),
      )
      .option('--cert-out <file>', 'write the certificate and chain here')
      .option('--key-out <file>', 'write the private key here')
      .option('--ca-out <file>', 'write the trust bundle (ca.crt) here')
      .option('--force', 'replace output files that exist')
      .addHelpText(
        'after',
        examples(
          'certloop issue --dir ./secrets --cn relay-server --dns relay.example.com --cert-out tls.crt --key-out tls.key --ca-out ca.crt',
          'certloop issue --dir ./secrets --cn agent-1 --profile client --lifetime 30d --cert-out a.crt --key-out a.key',
        ),
      )
      .action(async (_opts, cmd: Command) => run(context, cmd));
    return command;
  },
};
