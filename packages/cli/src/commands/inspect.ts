/**
 * `certloop inspect FILE|-|--secret NAME`: a certificate, chain, CSR or key, readable (subject, issuer, SANs,
 * validity, key, extensions, fingerprints), with the chain checked against a trust bundle when one is given (or,
 * for a secret, its own `ca.crt`). Exit status 1 when the chain, the key match or a CSR signature fails.
 */
import {
  type CertloopError,
  isCertloopError,
  privateKeyMatchesCertificate,
  readTlsMaterial,
  SECRET_KEYS,
  validateChain,
} from '@certloop/core';
import { Command, Option } from 'commander';
import { type InspectedInput, readInspectable } from '../inspect/read.js';
import { endpointOf, hostnameProblem, readPresentedChain } from '../inspect/remote.js';
import { renderCertificate, renderCsr, renderKey } from '../inspect/render.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { cliError, EXIT, formatError } from '../lib/errors.js';
import { outputStyle } from '../lib/globals.js';
import { readInput, readTextInput } from '../lib/io.js';
import { missingSecretError } from '../lib/missing-secret.js';
import { addOutputOption, addStoreOptions, examples, storeFlags } from '../lib/options.js';
import { renderData } from '../lib/render.js';
import { storeArgs } from '../lib/store-args.js';
import { secretNamed } from '../status/roles.js';
import { openStore } from '../store-factory.js';

interface Source {
  readonly what: string;
  readonly input: InspectedInput | undefined;
  readonly trustBundlePem: string | undefined;
  /** A token secret: its length only, never its value. */
  readonly tokenLength?: number;
}

async function fromSecret(context: CliContext, command: Command, word: string): Promise<Source> {
  const opts = command.opts();
  const name = secretNamed(word);
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  try {
    const secret = await opened.store.get(name, { signal: context.signal });
    if (!secret) {
      const flags = storeFlags(opts);
      throw missingSecretError(name, {
        description: opened.description,
        storeArgs: storeArgs(flags, (flag) => ['env', 'config'].includes(command.getOptionValueSource(flag) ?? '')),
      });
    }
    const token = secret.data[SECRET_KEYS.token];
    const m = readTlsMaterial(secret);
    if (!m.certificatePem) {
      if (token) return { what: name, input: undefined, trustBundlePem: undefined, tokenLength: token.length };
      throw cliError('CERTLOOP_INVALID_PEM', `secret ${name} has no ${SECRET_KEYS.certificate}`);
    }
    const text = m.certificatePem + (m.privateKeyPem ?? '');
    const input = await readInspectable(new TextEncoder().encode(text), `secret ${name}`);
    return { what: name, input, trustBundlePem: m.trustBundlePem };
  } finally {
    await opened.close();
  }
}

async function run(context: CliContext, command: Command, file: string | undefined): Promise<void> {
  const opts = command.opts();
  const secretName = opts.secret as string | undefined;
  if ((file === undefined) === (secretName === undefined)) {
    throw cliError(
      'CERTLOOP_USAGE',
      'inspect needs one FILE, - (standard input) or --secret NAME',
      'see certloop inspect --help',
    );
  }
  const trustFromFlag = opts.trust ? await readTextInput(String(opts.trust), context) : undefined;
  const endpoint = file === undefined ? undefined : endpointOf(file);
  const presented = endpoint ? await readPresentedChain(endpoint, context.signal) : undefined;
  const source: Source = secretName
    ? await fromSecret(context, command, secretName)
    : presented
      ? {
          what: file!,
          input: await readInspectable(new TextEncoder().encode(presented.certificatesPem), file!),
          trustBundlePem: undefined,
        }
      : {
          what: file!,
          input: await readInspectable(await readInput(file!, context), file === '-' ? 'standard input' : file!),
          trustBundlePem: undefined,
        };
  const trustBundlePem = trustFromFlag ?? source.trustBundlePem;
  const input = source.input;
  const problems: CertloopError[] = [];

  let chain: Record<string, unknown> | undefined;
  if (input?.certificates.length && trustBundlePem) {
    try {
      const result = await validateChain({
        leafPem: input.certificatesPem,
        trustBundlePem,
        ...(opts.usage
          ? { usage: opts.usage === 'server' ? 'serverAuth' : 'clientAuth' }
          : endpoint
            ? { usage: 'serverAuth' as const }
            : {}),
      });
      chain = { verified: true, path: result.chain.map((c) => c.subjectText), anchor: result.anchor.subjectText };
    } catch (err) {
      if (!isCertloopError(err)) throw err;
      chain = { verified: false, code: err.code, message: err.message };
      problems.push(err);
    }
  }
  const nameProblem =
    endpoint && input?.certificates[0]
      ? hostnameProblem(input.certificates[0].certificatePem, endpoint.host)
      : undefined;
  if (nameProblem) {
    problems.push(
      cliError(
        'CERTLOOP_CHAIN_HOSTNAME_MISMATCH',
        nameProblem,
        `reach it by a name it holds, or re-issue it with that name (certloop init --server-dns ${endpoint!.host})`,
      ),
    );
  }
  let keyMatches: boolean | undefined;
  if (input?.privateKeyPem && input.certificates[0]) {
    keyMatches = privateKeyMatchesCertificate(input.privateKeyPem, input.certificates[0].certificatePem);
    if (!keyMatches) problems.push(cliError('CERTLOOP_KEY_MISMATCH', 'the private key does not match the certificate'));
  }
  if (input?.csr && !input.csr.signatureValid)
    problems.push(cliError('CERTLOOP_CSR_SIGNATURE_INVALID', 'the CSR signature does not verify'));

  if (opts.output !== 'text') {
    const { privateKeyPem: _hidden, certificatesPem: _pem, ...shown } = input ?? { certificates: [] };
    const data =
      source.tokenLength !== undefined
        ? { token: { length: source.tokenLength } }
        : {
            ...shown,
            ...(keyMatches !== undefined ? { keyMatchesCertificate: keyMatches } : {}),
            ...(presented && endpoint
              ? {
                  endpoint: {
                    host: endpoint.host,
                    port: endpoint.port,
                    protocol: presented.protocol,
                    cipher: presented.cipher,
                    namesHost: nameProblem === undefined,
                  },
                }
              : {}),
            ...(chain ? { chain } : {}),
          };
    context.stdout.write(renderData(opts.output, { source: source.what, ...data }));
  } else {
    const c = outputStyle(command, context).colors;
    const out: string[] = [];
    if (source.tokenLength !== undefined)
      out.push(`${c.bold('Token:')}\n    ${source.tokenLength} bytes (not shown)\n`);
    if (presented && endpoint) {
      out.push(
        `${c.bold('Endpoint:')} ${endpoint.host}:${endpoint.port} ${presented.protocol ?? ''} ${presented.cipher}, ` +
          `${input?.certificates.length ?? 0} certificate(s) presented; ` +
          `${nameProblem ? c.red(nameProblem) : c.green(`names ${endpoint.host}`)}\n`,
      );
    }
    const certs = input?.certificates ?? [];
    certs.forEach((cert, i) => {
      const title =
        certs.length === 1 ? 'Certificate' : `Certificate ${i + 1} of ${certs.length}${i === 0 ? ' (leaf)' : ''}`;
      out.push(renderCertificate(cert, title, c, new Date()));
    });
    if (input?.csr) out.push(renderCsr(input.csr, c));
    if (input?.key) out.push(renderKey(input.key, c, keyMatches));
    if (chain) {
      out.push(
        chain.verified
          ? `${c.bold('Chain:')} ${c.green('verified')} ${(chain.path as string[]).join(' <- ')}\n`
          : `${c.bold('Chain:')} ${c.red('FAILED')} ${chain.code}: ${chain.message}\n`,
      );
    }
    context.stdout.write(out.join('\n'));
  }
  if (problems.length) {
    for (const p of problems) context.stderr.write(`${formatError(p)}\n`);
    context.exitCode = EXIT.checkFailed;
  }
}

export const inspectCommand: CliCommand = {
  name: 'inspect',
  create(context) {
    const command = new Command('inspect')
      .summary('show a certificate, chain, CSR or key, and check a chain')
      .description(
        'Shows a certificate, a chain (leaf first), a CSR or a private key, from a PEM or DER file, standard\n' +
          'input (-) or a secret in the store (--secret NAME): subject, issuer, SANs, validity, key,\n' +
          "extensions and fingerprints. Private keys are never printed. With --trust (or a secret's own\n" +
          'ca.crt) the chain is validated; a key beside a certificate is checked to match it.\n' +
          'https://HOST:PORT reads the chain a live TLS endpoint presents (leaf first), checks that the leaf\n' +
          'names HOST, and with --trust validates it for server use.\n\n' +
          'Exit status: 0 fine; 1 the chain, host name, key match or CSR signature failed; 2 bad flags; 3\n' +
          'unreadable or invalid input; 4 store or endpoint unreachable; 5 no such secret.',
      )
      .argument('[file]', 'PEM or DER file, - for standard input, or https://HOST:PORT for a live TLS endpoint');
    addStoreOptions(command);
    addOutputOption(command, ['text', 'json', 'yaml']);
    command
      .option(
        '--secret <name>',
        'inspect a secret of the store instead of a file (its name or role: server, client, ...)',
      )
      .option('--trust <file>', 'trust bundle (PEM) to validate the chain against')
      .addOption(new Option('--usage <usage>', 'also require this extended key usage').choices(['server', 'client']))
      .addHelpText(
        'after',
        examples(
          'certloop inspect server.crt',
          'certloop inspect tls.crt --trust ca.crt --usage server',
          'cat agent.csr | certloop inspect -',
          'certloop inspect --secret relay-server-tls-secret --dir ./secrets',
          'certloop inspect chain.pem -o json',
          'certloop inspect https://relay.example.com:9900 --trust ca.crt   # a live endpoint: chain, names, trust',
        ),
      )
      .action(async (file: string | undefined, _opts, cmd: Command) => run(context, cmd, file));
    return command;
  },
};
