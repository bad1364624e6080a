/**
 * `certloop ca status|prepare|activate|drain|retire|abort --ca root|intermediate`: the CA rotation by hand (core's
 * `CaRotation` on the store), for the root (`relay-root-tls-secret`, with a new intermediate under the new root)
 * and the intermediate (`relay-tls-signing-secret`). The record lives in `relay-ca-rotation`; each step is a
 * compare-and-swap on it, idempotent, and resumes an interrupted one. A refusal (activate before every consumer
 * holds {A, B}, retire while leaves under A are live, abort after retire, a step out of order) is exit status 5 with
 * the reason and what to do. `status` exits 1 to alert: a CA inside its renewal window with no rotation under way,
 * or a rotation stuck in one phase. With `--key-store pkcs11 --pkcs11-uri URI` (CA keys made by `init --key-store
 * pkcs11`) the new CA's key is made on the token and the old one's destroyed there; `@certloop/pkcs11` is loaded
 * only then.
 */
import type { CaKeySource, CaKind, CaRotationRecord } from '@certloop/core';
import { Command, Option } from 'commander';
import { renderCaStatus, renderRecord } from '../ca/render.js';
import { openRotation, type RotationFlags, statusView } from '../ca/rotation-context.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError, EXIT } from '../lib/errors.js';
import { outputStyle } from '../lib/globals.js';
import { addOutputOption, addStoreOptions, collect, examples, storeFlags } from '../lib/options.js';
import { withProgress } from '../lib/progress.js';
import { renderData } from '../lib/render.js';
import { loadPkcs11, pkcs11Options } from '../pkcs11.js';
import { openStore } from '../store-factory.js';

const CAS = ['root', 'intermediate'] as const;

function rotationFlags(opts: Record<string, unknown>): RotationFlags {
  const ratio = opts.ratio === undefined ? undefined : Number(opts.ratio);
  if (ratio !== undefined && !(ratio > 0 && ratio < 1)) {
    throw cliError('CERTLOOP_USAGE', '--ratio must be between 0 and 1 (exclusive)');
  }
  return {
    ...(ratio !== undefined ? { ratio } : {}),
    ...(opts.stuckAfter ? { stuckAfterSeconds: parseDuration(String(opts.stuckAfter), '--stuck-after') } : {}),
    bringYourOwn: (opts.byoConsumer as string[] | undefined) ?? [],
    ...(opts.byoTimeout ? { bringYourOwnTimeoutSeconds: parseDuration(String(opts.byoTimeout), '--byo-timeout') } : {}),
    ...(opts.maxLeafLifetime
      ? { maxLeafLifetimeSeconds: parseDuration(String(opts.maxLeafLifetime), '--max-leaf-lifetime') }
      : {}),
  };
}

function addRotationOptions(command: Command, caRequired: boolean): Command {
  addStoreOptions(command);
  addOutputOption(command);
  const ca = new Option('--ca <ca>', 'which CA').choices(CAS);
  if (caRequired) ca.makeOptionMandatory();
  return command
    .addOption(ca)
    .option('--byo-consumer <name>', 'a bring-your-own consumer that cannot report (repeatable)', collect)
    .option('--byo-timeout <duration>', 'count bring-your-own consumers as converged this long after prepare')
    .option('--max-leaf-lifetime <duration>', 'without issuance records: how long leaves under A may live (1y)')
    .addOption(
      new Option('--key-store <kind>', 'where the CA keys are: in the store, or on a PKCS#11 token')
        .choices(['store', 'pkcs11'])
        .default('store')
        .env('CERTLOOP_KEY_STORE'),
    )
    .addOption(
      new Option(
        '--pkcs11-uri <uri>',
        'key store pkcs11: RFC 7512 URI of the token (PIN from pin-source or CERTLOOP_PKCS11_PIN)',
      ).env('CERTLOOP_PKCS11_URI'),
    );
}

/** With `--key-store pkcs11`: the token opened, and the rotation's key source on it (close it when done). */
async function openKeys(
  context: CliContext,
  opts: Record<string, unknown>,
): Promise<{ keys?: CaKeySource; close(): void }> {
  if (opts.keyStore !== 'pkcs11') return { close() {} };
  const hsm = pkcs11Options({ pkcs11Uri: opts.pkcs11Uri as string | undefined }, context.env, '--key-store pkcs11');
  const pkcs11 = await loadPkcs11();
  const token = await pkcs11.Pkcs11Token.open(hsm, { signal: context.signal });
  return { keys: pkcs11.pkcs11CaKeySource(token), close: () => token.close() };
}

type Step = 'prepare' | 'activate' | 'drain' | 'retire' | 'abort';

async function runStep(context: CliContext, command: Command, step: Step): Promise<void> {
  const opts = command.opts();
  const ca = opts.ca as CaKind;
  const flags = rotationFlags(opts);
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  let token: { close(): void } | undefined;
  try {
    const { keys, close } = await openKeys(context, opts);
    token = { close };
    const rotation = openRotation(opened.store, ca, { ...flags, ...(keys ? { keys } : {}) });
    const signal = context.signal;
    const reason = opts.reason ? String(opts.reason) : undefined;
    const base = { signal, ...(reason ? { reason } : {}) };
    let record: CaRotationRecord | undefined;
    let figures: unknown;
    switch (step) {
      case 'prepare':
        record = await withProgress(
          context.stderr,
          `preparing a new ${ca} CA`,
          rotation.prepare({
            ...base,
            crossSign: opts.crossSign !== false,
            ...(opts.lifetime ? { lifetimeSeconds: parseDuration(String(opts.lifetime), '--lifetime') } : {}),
          }),
        );
        break;
      case 'activate':
        if (opts.confirm?.length) await rotation.confirm(opts.confirm as string[], base);
        record = await withProgress(
          context.stderr,
          `activating the new ${ca} CA`,
          rotation.activate({ ...base, force: opts.force === true }),
        );
        break;
      case 'drain':
        figures = await rotation.drain(base);
        record = await rotation.record({ signal });
        break;
      case 'retire':
        record = await rotation.retire({ ...base, force: opts.force === true });
        break;
      case 'abort':
        record = await rotation.abort(base);
        break;
    }
    if (opts.output !== 'text') {
      context.stdout.write(renderData(opts.output, { ca, step, record, ...(figures ? { drain: figures } : {}) }));
    } else if (record) {
      context.stdout.write(renderRecord(record, outputStyle(command, context)));
    }
  } finally {
    token?.close();
    await opened.close();
  }
}

async function runStatus(context: CliContext, command: Command): Promise<void> {
  const opts = command.opts();
  const flags = rotationFlags(opts);
  const cas: CaKind[] = opts.ca ? [opts.ca as CaKind] : [...CAS];
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  let token: { close(): void } | undefined;
  try {
    const { keys, close } = await openKeys(context, opts);
    token = { close };
    const withKeys = { ...flags, ...(keys ? { keys } : {}) };
    const views = [];
    for (const ca of cas) {
      views.push(await statusView(opened.store, openRotation(opened.store, ca, withKeys), flags, context.signal));
    }
    const alert = views.filter((v) => v.due || v.stuck);
    if (opts.output !== 'text') {
      context.stdout.write(
        renderData(opts.output, {
          store: opened.description,
          alert: alert.length > 0,
          cas: views,
        }),
      );
    } else {
      context.stdout.write(renderCaStatus(views, outputStyle(command, context)));
    }
    if (alert.length) context.exitCode = EXIT.checkFailed;
  } finally {
    token?.close();
    await opened.close();
  }
}

const EXIT_TEXT =
  'Exit status: 0 done; 2 bad flags; 4 store unreachable; 5 refused (the reason and what to do are printed:\n' +
  'not converged, leaves live under A, already retired, out of order, bring-your-own or keyless CA).';

export const caCommand: CliCommand = {
  name: 'ca',
  create(context) {
    const ca = new Command('ca')
      .summary('rotate the root or the intermediate CA in phases (status, prepare, activate, drain, retire, abort)')
      .description(
        'Replaces the root (relay-root-tls-secret) or the intermediate (relay-tls-signing-secret) without dropping\n' +
          'an agent: prepare makes B and publishes {A, B} in every ca.crt (A still signs); activate (once every\n' +
          'consumer holds {A, B}: agents report it to the relay servers, which publish their tables to the store)\n' +
          'makes B sign and re-issues the server certificate; drain asks agents under A to renew now and counts the\n' +
          'leaves still under A; retire publishes {B} and destroys A; abort returns to A before retire. The record\n' +
          'is the secret relay-ca-rotation; every step is a compare-and-swap on it and can be run again.',
      );
    const status = new Command('status')
      .summary('where each CA stands: in force, due, rotation phase and convergence')
      .description(
        'Shows each CA (or the one named by --ca): the certificate in force, when it enters its renewal window,\n' +
          'the rotation under way (phase, since when, convergence, leaves still under A).\n\n' +
          'Exit status: 0 nothing to do; 1 alert: a CA inside its renewal window with no rotation under way, or a\n' +
          'rotation stuck in one phase longer than --stuck-after; 2 bad flags; 4 store unreachable.',
      );
    addRotationOptions(status, false)
      .option('--ratio <ratio>', 'share of a CA lifetime left when it is due for rotation', '0.5')
      .option('--stuck-after <duration>', 'a rotation in one phase longer than this is stuck', '30d')
      .addHelpText(
        'after',
        examples('certloop ca status --dir ./secrets', 'certloop ca status --store kubernetes -o json'),
      )
      .action(async (_opts, cmd: Command) => runStatus(context, cmd));

    const prepare = new Command('prepare')
      .summary('start a rotation: make B, publish {A, B}; A still signs')
      .description(`Creates the new CA B and publishes {A, B} in every managed ca.crt.\n\n${EXIT_TEXT}`)
      .option('--no-cross-sign', 'root: do not certify the new intermediate under the old root')
      .option('--lifetime <duration>', "the new CA's lifetime (default: the old one's)")
      .option('--reason <text>', 'why (kept in the record)');
    addRotationOptions(prepare, true)
      .addHelpText(
        'after',
        examples(
          'certloop ca prepare --ca root --dir ./secrets',
          "certloop ca prepare --ca intermediate --dir ./secrets --key-store pkcs11 --pkcs11-uri 'pkcs11:token=certloop?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/pin'",
        ),
      )
      .action(async (_opts, cmd: Command) => runStep(context, cmd, 'prepare'));

    const activate = new Command('activate')
      .summary('make B sign, once every consumer holds {A, B}')
      .description(
        'Checks that every consumer holds {A, B} (refused otherwise, with who is missing), then installs B as the\n' +
          `signer and re-issues the server certificate under it.\n\n${EXIT_TEXT}`,
      )
      .option('--force', 'activate although some consumer has not converged (written in the record)')
      .option('--confirm <consumer>', 'confirm a bring-your-own consumer by hand (repeatable)', collect)
      .option('--reason <text>', 'why (kept in the record)');
    addRotationOptions(activate, true)
      .addHelpText(
        'after',
        examples(
          'certloop ca activate --ca root --dir ./secrets',
          'certloop ca activate --ca root --force --reason "cluster-7 decommissioned"',
        ),
      )
      .action(async (_opts, cmd: Command) => runStep(context, cmd, 'activate'));

    const drain = new Command('drain')
      .summary('ask agents under A to renew now; count the leaves still under A')
      .description(`Writes the renewal request every server replica passes on to its agents.\n\n${EXIT_TEXT}`)
      .option('--reason <text>', 'why (shown to agents)');
    addRotationOptions(drain, true)
      .addHelpText('after', examples('certloop ca drain --ca root --dir ./secrets'))
      .action(async (_opts, cmd: Command) => runStep(context, cmd, 'drain'));

    const retire = new Command('retire')
      .summary('publish {B} and destroy A, once no live leaf is under A')
      .description(`Refused while leaves under A are live (unless --force).\n\n${EXIT_TEXT}`)
      .option('--force', 'retire although leaves under A are live (written in the record)')
      .option('--reason <text>', 'why (kept in the record)');
    addRotationOptions(retire, true)
      .addHelpText('after', examples('certloop ca retire --ca root --dir ./secrets'))
      .action(async (_opts, cmd: Command) => runStep(context, cmd, 'retire'));

    const abort = new Command('abort')
      .summary('return to A (any phase before retire)')
      .description(`Refused after retire: start a new rotation instead.\n\n${EXIT_TEXT}`)
      .option('--reason <text>', 'why (kept in the record)');
    addRotationOptions(abort, true)
      .addHelpText('after', examples('certloop ca abort --ca intermediate --dir ./secrets'))
      .action(async (_opts, cmd: Command) => runStep(context, cmd, 'abort'));

    ca.addHelpText(
      'after',
      examples(
        'certloop ca status --dir ./secrets',
        'certloop ca prepare --ca root --dir ./secrets',
        'certloop ca activate --ca root --dir ./secrets',
        'certloop ca drain --ca root --dir ./secrets',
        'certloop ca retire --ca root --dir ./secrets',
      ),
    );
    for (const sub of [status, prepare, activate, drain, retire, abort]) ca.addCommand(sub);
    return ca;
  },
};
