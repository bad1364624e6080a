/**
 * `certloop revoke SERIAL`: revokes a certificate the store's signing CA issued and publishes the CRL that lists it
 * (core's `LocalCertificateAuthority.revoke`; the ledger and `ca.crl` live in `relay-tls-signing-secret`, beside its
 * key). Revoking twice changes nothing. Refused, with the reason, when the signing CA is not the store's own: a
 * bring-your-own intermediate without the certloop annotation, one without its key, or `--ca vault` (revoke there
 * with `vault write pki/revoke`).
 */
import {
  authorityFromSecret,
  DEFAULT_RELAY_SECRET_NAMES,
  REVOCATION_KEYS,
  REVOCATION_REASONS,
  type RevocationReason,
  SECRET_KEYS,
} from '@certloop/core';
import { Command, Option } from 'commander';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { cliError } from '../lib/errors.js';
import { writeOutputFiles } from '../lib/io.js';
import { addCaOptions, addOutputOption, addStoreOptions, examples, storeFlags } from '../lib/options.js';
import { renderData } from '../lib/render.js';
import { openStore } from '../store-factory.js';
import { bringYourOwnReason } from './rotate.js';

async function run(context: CliContext, command: Command, serial: string): Promise<void> {
  const opts = command.opts();
  if (!/^[0-9a-fA-F:]+$/.test(serial)) {
    throw cliError(
      'CERTLOOP_USAGE',
      `${serial} is not a serial number`,
      'give it in hex, as `certloop inspect` shows it',
    );
  }
  if (opts.ca === 'vault') {
    throw cliError(
      'CERTLOOP_READ_ONLY',
      "certloop revokes only with the store's own signing CA, and --ca vault signs in Vault",
      'revoke it in Vault: vault write <mount>/revoke serial_number=<serial>',
    );
  }
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  try {
    const name = DEFAULT_RELAY_SECRET_NAMES.signing;
    const secret = await opened.store.get(name, { signal: context.signal });
    if (secret) {
      const reason = bringYourOwnReason(secret);
      if (reason) {
        throw cliError(
          'CERTLOOP_READ_ONLY',
          `certloop does not revoke with ${name}: ${reason}, so its revocation list is not certloop's to write`,
          'revoke it with the tool that owns that CA',
        );
      }
    }
    if (!secret) {
      throw cliError('CERTLOOP_NOT_FOUND', `the store (${opened.description}) has no signing CA (${name})`);
    }
    if (!secret.data[SECRET_KEYS.privateKey]) {
      throw cliError(
        'CERTLOOP_READ_ONLY',
        `${name} holds no CA key, so it cannot sign a CRL`,
        'revoke it where the key is',
      );
    }
    // with the store, the CA keeps its revocation ledger and CRL in the signing secret itself
    const ca = authorityFromSecret(secret, { store: opened.store });
    const result = await ca.revoke(
      { serialNumber: serial, ...(opts.reason ? { reason: opts.reason as RevocationReason } : {}) },
      { signal: context.signal },
    );
    if (opts.crlOut) {
      await writeOutputFiles([{ path: String(opts.crlOut), content: result.crlPem }], {
        cwd: context.cwd,
        force: opts.force === true,
      });
    }
    const summary = {
      serialNumber: result.serialNumber,
      revokedAt: result.revokedAt,
      alreadyRevoked: result.alreadyRevoked,
      crlNumber: result.crlNumber,
      crl: `${name}/${REVOCATION_KEYS.crl}`,
    };
    if (opts.output !== 'text') context.stdout.write(renderData(opts.output, summary));
    else
      context.stdout.write(
        result.alreadyRevoked
          ? `${result.serialNumber} was already revoked on ${result.revokedAt.toISOString()}; nothing changed\n`
          : `revoked ${result.serialNumber}; CRL number ${result.crlNumber} published in ${name} (ca.crl)\n`,
      );
  } finally {
    await opened.close();
  }
}

export const revokeCommand: CliCommand = {
  name: 'revoke',
  create(context) {
    const command = new Command('revoke')
      .summary("revoke a certificate the store's signing CA issued, and publish the CRL")
      .description(
        "Revokes a serial with the store's own signing CA (relay-tls-signing-secret) and publishes the signed\n" +
          'CRL that lists it in that secret (ca.crl, beside tls.key); --crl-out also writes it to a file.\n' +
          'Revoking a serial twice changes nothing. Refused, with the reason, for a bring-your-own or keyless\n' +
          'intermediate and for --ca vault (revoke in Vault there).\n\n' +
          'Exit status: 0 revoked (or already); 2 bad serial or flags; 4 store unreachable; 5 refused.',
      )
      .argument('<serial>', 'the serial number in hex (colons allowed)');
    addStoreOptions(command);
    addCaOptions(command);
    addOutputOption(command);
    command
      .addOption(
        new Option('--reason <reason>', 'the CRL reason code').choices(
          REVOCATION_REASONS.filter((r) => r !== 'unused' && r !== 'removeFromCRL'),
        ),
      )
      .option('--crl-out <file>', 'also write the new CRL (PEM) here')
      .option('--force', 'replace --crl-out if it exists')
      .addHelpText(
        'after',
        examples(
          'certloop revoke 5f1c0e... --dir ./secrets --reason keyCompromise',
          'certloop revoke 5F:1C:0E:... --dir ./secrets --crl-out relay.crl -o json',
        ),
      )
      .action(async (serial: string, _opts, cmd: Command) => run(context, cmd, serial));
    return command;
  },
};
