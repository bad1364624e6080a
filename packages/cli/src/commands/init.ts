/**
 * `certloop init`: bootstraps the relay PKI in a store: root CA, signing intermediate, management-server
 * certificate and bootstrap token, each only if missing. Bring-your-own pieces found in the store are used as
 * they are (an existing intermediate means no root is made at all). With `--key-store pkcs11` the root and
 * intermediate keys are made on a PKCS#11 token (sensitive, never extractable) and the store keeps only their
 * certificates; `@certloop/pkcs11` is loaded only then.
 */
import {
  bootstrapRelayPki,
  type CertificateAuthority,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type RelayCaKeys,
} from '@certloop/core';
import { Command, Option } from 'commander';
import { openCertificateAuthority } from '../ca-factory.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError } from '../lib/errors.js';
import { outputStyle } from '../lib/globals.js';
import { readTextInput } from '../lib/io.js';
import {
  addCaOptions,
  addOutputOption,
  addStoreOptions,
  caFlags,
  collect,
  examples,
  storeFlags,
} from '../lib/options.js';
import { withProgress } from '../lib/progress.js';
import { renderData } from '../lib/render.js';
import { loadPkcs11, pkcs11Options, signingLabel } from '../pkcs11.js';
import { RELAY_ROLES } from '../status/roles.js';
import { openStore } from '../store-factory.js';

async function run(context: CliContext, command: Command): Promise<void> {
  const opts = command.opts();
  // every flag is checked before the store is touched
  const lifetimes = {
    rootLifetimeSeconds: parseDuration(String(opts.rootLifetime), '--root-lifetime'),
    intermediateLifetimeSeconds: parseDuration(String(opts.intermediateLifetime), '--intermediate-lifetime'),
    serverLifetimeSeconds: parseDuration(String(opts.serverLifetime), '--server-lifetime'),
  };
  let bootstrapToken: string | false | undefined = opts.token === false ? false : undefined;
  if (opts.tokenFile) {
    bootstrapToken = (await readTextInput(String(opts.tokenFile), context)).trim();
    if (bootstrapToken.length < 16) {
      throw cliError(
        'CERTLOOP_USAGE',
        `the token in ${opts.tokenFile} is shorter than 16 characters`,
        'use a longer token, or leave --token-file out for a random one',
      );
    }
  }
  if (opts.keyStore === 'pkcs11' && opts.ca === 'vault') {
    throw cliError(
      'CERTLOOP_USAGE',
      '--key-store pkcs11 and --ca vault exclude each other',
      'Vault keeps its own keys',
    );
  }
  const hsm = opts.keyStore === 'pkcs11' ? pkcs11Options(caFlags(opts), context.env, '--key-store pkcs11') : undefined;
  const style = outputStyle(command, context);
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: true, signal: context.signal });
  // --ca vault: the signing CA stays in Vault; only the server certificate and the token are stored
  let external: Awaited<ReturnType<typeof openCertificateAuthority>> | undefined;
  let token: { close(): void; description: string } | undefined;
  try {
    let caKeys: RelayCaKeys | undefined;
    if (hsm) {
      const pkcs11 = await loadPkcs11();
      const opened = await pkcs11.Pkcs11Token.open(hsm, { signal: context.signal });
      token = opened;
      caKeys = pkcs11.pkcs11RelayCaKeys({
        token: opened,
        rootLabel: String(opts.pkcs11RootObject),
        intermediateLabel: signingLabel(pkcs11, hsm.uri),
      });
    }
    if (opts.ca === 'vault') {
      external = await openCertificateAuthority({
        flags: caFlags(opts),
        store: opened.store,
        signal: context.signal,
        env: context.env,
      });
    }
    const result = await withProgress(
      context.stderr,
      'bootstrapping the relay PKI',
      bootstrapRelayPki({
        signingCa: external?.ca as CertificateAuthority,
        store: opened.store,
        keyAlgorithm: opts.keyAlgorithm as KeyAlgorithm,
        ...lifetimes,
        rootCommonName: String(opts.rootCn),
        intermediateCommonName: String(opts.intermediateCn),
        server: {
          commonName: String(opts.serverCn),
          dnsNames: opts.serverDns as string[],
          ipAddresses: opts.serverIp as string[],
        },
        token: bootstrapToken,
        signal: context.signal,
        ...(caKeys ? { caKeys } : {}),
      }),
    );
    const secrets = await Promise.all(
      RELAY_ROLES.filter((r) => r !== 'client').map(async (role) => {
        const name = result.names[role];
        // bootstrap does not look at the root once an intermediate exists: report it as it is in the store
        const there = result.existing.includes(name) || (await opened.store.get(name)) !== undefined;
        const outcome = result.created.includes(name) ? 'created' : there ? 'kept' : 'skipped';
        return { role, name, outcome };
      }),
    );
    if (opts.output !== 'text') {
      const keys = token ? { keyStore: token.description } : {};
      context.stdout.write(renderData(opts.output, { store: opened.description, ...keys, secrets }));
      return;
    }
    const c = style.colors;
    context.stdout.write(`${c.bold('certloop init')}  ${opened.description}\n`);
    if (token) context.stdout.write(`  CA keys on ${token.description} (the store holds their certificates only)\n`);
    for (const s of secrets) {
      const mark =
        s.outcome === 'created' ? c.green('created') : s.outcome === 'kept' ? c.cyan('kept   ') : c.dim('skipped');
      context.stdout.write(`  ${mark}  ${s.role.padEnd(8)} ${s.name}\n`);
    }
    if (secrets.some((s) => s.outcome === 'kept')) {
      context.stdout.write(c.dim('kept: already there (managed or bring-your-own), never replaced\n'));
    }
    if (secrets.some((s) => s.outcome === 'skipped')) {
      context.stdout.write(c.dim('skipped: not needed (an intermediate was already there, or --no-token)\n'));
    }
  } finally {
    external?.close();
    token?.close();
    await opened.close();
  }
}

export const initCommand: CliCommand = {
  name: 'init',
  create(context) {
    const command = new Command('init')
      .summary('bootstrap the relay PKI: root, intermediate, server certificate, token')
      .description(
        'Creates the relay PKI in a store, each secret only if it is missing: root CA (relay-root-tls-secret),\n' +
          'signing intermediate (relay-tls-signing-secret), management-server certificate\n' +
          '(relay-server-tls-secret) and bootstrap token (relay-identity-token-secret). Secrets already there,\n' +
          'managed or bring-your-own, are used as found and never replaced; with an intermediate already\n' +
          'there no root is made. Running it twice changes nothing.',
      );
    addStoreOptions(command);
    addCaOptions(command);
    addOutputOption(command);
    command
      .addOption(
        new Option('--key-algorithm <alg>', 'algorithm of every key made')
          .choices(KEY_ALGORITHMS)
          .default('ECDSA-P256'),
      )
      .addOption(
        new Option(
          '--key-store <kind>',
          'where the root and intermediate keys are made: in the store, or on a PKCS#11 token',
        )
          .choices(['store', 'pkcs11'])
          .default('store')
          .env('CERTLOOP_KEY_STORE'),
      )
      .option('--pkcs11-root-object <label>', 'key store pkcs11: label of the root key on the token', 'relay-root')
      .option('--root-cn <cn>', 'common name of the root CA', 'certloop relay root CA')
      .option('--intermediate-cn <cn>', 'common name of the signing intermediate', 'certloop relay signing CA')
      .option('--server-cn <cn>', "the management server's common name", 'relay-server')
      .option('--server-dns <names>', "the management server's DNS names (repeat or comma-separate)", collect)
      .option('--server-ip <addresses>', "the management server's IP addresses", collect)
      .option('--root-lifetime <duration>', 'lifetime of a new root', '10y')
      .option('--intermediate-lifetime <duration>', 'lifetime of a new intermediate', '5y')
      .option('--server-lifetime <duration>', 'lifetime of a new server certificate', '1y')
      .option('--token-file <file>', 'store this bootstrap token (at least 16 characters) instead of a random one')
      .option('--no-token', 'make no token secret')
      .addHelpText(
        'after',
        examples(
          'certloop init --dir ./secrets',
          'certloop init --dir ./secrets --server-dns relay.example.com --server-ip 10.0.0.5',
          'certloop init --store kubernetes --context mgmt --namespace gloo-mesh',
          "certloop init --dir ./secrets --key-store pkcs11 --pkcs11-uri 'pkcs11:token=certloop;object=relay-signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/pin'",
          'VAULT_TOKEN=... certloop init --dir ./secrets --ca vault --vault-addr https://vault:8200 --vault-mount pki_int --vault-role relay',
        ),
      )
      .action(async (_opts, cmd: Command) => {
        const o = cmd.opts();
        if (!o.serverDns) cmd.setOptionValue('serverDns', ['localhost']);
        if (!o.serverIp) cmd.setOptionValue('serverIp', ['127.0.0.1']);
        await run(context, cmd);
      });
    return command;
  },
};
