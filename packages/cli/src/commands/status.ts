/**
 * `certloop status`: every relay secret (root, intermediate, server, client, token), managed or bring-your-own,
 * with subject, issuer, not-after, renewal time, time left and state. Exit status 1 when anything is expired,
 * invalid, missing or not yet valid. `--watch` keeps it live; `--serve` serves a live page.
 */
import { Command, Option } from 'commander';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { cliError, EXIT, formatError } from '../lib/errors.js';
import { outputStyle, untilAborted } from '../lib/globals.js';
import { createLogger } from '../lib/log.js';
import { addOutputOption, addStoreOptions, collect, examples, type OutputFormat, storeFlags } from '../lib/options.js';
import { renderData } from '../lib/render.js';
import { storeArgs } from '../lib/store-args.js';
import { truncate } from '../lib/terminal.js';
import { type AdviceContext, adviceFor } from '../status/advice.js';
import { renderAdvice } from '../status/advice-text.js';
import { type SecretStatus, StatusBoard, UNHEALTHY_STATES } from '../status/board.js';
import { parseRoles } from '../status/roles.js';
import { RotationBoard, type RotationLine, readRotationLines, renderRotationLines } from '../status/rotation-board.js';
import { startStatusServer } from '../status/serve.js';
import { renderStatusTable } from '../status/table.js';
import { openStore } from '../store-factory.js';

function parseRatio(text: string): number {
  const ratio = Number(text);
  if (!(ratio > 0 && ratio < 1)) {
    throw cliError(
      'CERTLOOP_USAGE',
      `--ratio ${JSON.stringify(text)} is not a grace ratio`,
      'give a number between 0 and 1, e.g. 0.1',
    );
  }
  return ratio;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw cliError('CERTLOOP_USAGE', `--port ${JSON.stringify(text)} is not a port`, 'give 0 (any free port) to 65535');
  }
  return port;
}

/** The problems of a snapshot, as one error, or undefined when every secret is usable. */
export function unhealthy(rows: readonly SecretStatus[], format: OutputFormat = 'text') {
  const bad = rows.filter((r) => UNHEALTHY_STATES.includes(r.state));
  if (bad.length === 0) return undefined;
  const list = bad.map((r) => `${r.name} ${r.state}${r.errorCode && r.state === 'invalid' ? ` (${r.errorCode})` : ''}`);
  return cliError(
    'CERTLOOP_CHECK_FAILED',
    `${bad.length} of ${rows.length} secrets need attention: ${list.join(', ')}`,
    format === 'text'
      ? 'the advice under the table names the command for each'
      : `each secret's advice names the command for it (.secrets[].advice)`,
  );
}

function renderRows(
  format: OutputFormat,
  rows: SecretStatus[],
  style: ReturnType<typeof outputStyle>,
  advice: AdviceContext,
  rotations: readonly RotationLine[] = [],
): string {
  if (format !== 'text') {
    return renderData(format, {
      secrets: rows.map((row) => ({ ...row, advice: adviceFor(row, rows, advice) })),
      ...(rotations.length ? { rotations } : {}),
    });
  }
  const lines = renderRotationLines(rotations);
  return `${renderStatusTable(rows, style)}${lines ? `${lines}\n` : ''}${renderAdvice(rows, advice, style.colors)}`;
}

async function run(context: CliContext, command: Command): Promise<void> {
  const opts = command.opts();
  const roles = parseRoles(opts.secrets as string[] | undefined);
  const ratio = parseRatio(String(opts.ratio));
  const port = parsePort(String(opts.port));
  const format = opts.output as OutputFormat;
  const style = outputStyle(command, context);
  const flags = storeFlags(opts);
  const opened = await openStore({ flags, cwd: context.cwd, create: false, signal: context.signal });
  const advice = {
    storeArgs: storeArgs(flags, (flag) => ['env', 'config'].includes(command.getOptionValueSource(flag) ?? '')),
  };
  const board = new StatusBoard({ watcher: opened.store, roles, ratio });
  try {
    await board.start();
    if (!opts.watch && !opts.serve) {
      const rows = board.snapshot();
      const rotations = await readRotationLines(opened.store, context.signal).catch(() => []);
      context.stdout.write(renderRows(format, rows, style, advice, rotations));
      const problem = unhealthy(rows, format);
      if (problem) {
        context.stderr.write(`${formatError(problem)}\n`);
        context.exitCode = EXIT.checkFailed;
      }
      return;
    }
    await watchAndServe(context, {
      board,
      rotations: new RotationBoard(opened.store),
      advice,
      format,
      style,
      serve: opts.serve === true,
      watch: opts.watch === true,
      host: String(opts.host),
      port,
      store: opened.description,
    });
  } finally {
    board.stop();
    await opened.close();
  }
}

async function watchAndServe(
  context: CliContext,
  o: {
    board: StatusBoard;
    rotations: RotationBoard;
    advice: AdviceContext;
    format: OutputFormat;
    style: ReturnType<typeof outputStyle>;
    serve: boolean;
    watch: boolean;
    host: string;
    port: number;
    store: string;
  },
): Promise<void> {
  const log = createLogger(context.stderr);
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    await o.rotations.start();
    cleanups.push(() => o.rotations.stop());
    if (o.serve) {
      const server = await startStatusServer({
        board: o.board,
        host: o.host,
        port: o.port,
        storeDescription: o.store,
        rotations: () => o.rotations.lines(),
      });
      cleanups.push(() => server.close());
      log.log('info', 'serving the status page', { url: server.url, store: o.store });
    }
    const liveTable = o.watch && o.format === 'text' && context.stdout.isTTY === true;
    if (liveTable) {
      const draw = () =>
        context.stdout.write(
          `\x1b[2J\x1b[H${o.style.colors.dim(truncate(`${o.store}  ${new Date().toISOString().slice(0, 19)}Z  (Ctrl-C to stop)`, o.style.width))}\n${renderRows('text', o.board.snapshot(), o.style, o.advice, o.rotations.lines())}`,
        );
      draw();
      cleanups.push(o.board.subscribe(draw));
      const timer = setInterval(draw, 5000);
      cleanups.push(() => clearInterval(timer));
    } else {
      // off a terminal (or with --output json/yaml): one JSON line per change, first every secret as it is
      const out = o.watch ? createLogger(context.stdout, { json: true }) : log;
      const line = (s: SecretStatus, previous?: SecretStatus) =>
        out.log(UNHEALTHY_STATES.includes(s.state) ? 'warn' : 'info', 'secret status', {
          secret: s.name,
          role: s.role,
          state: s.state,
          ...(previous ? { previous: previous.state } : {}),
          managed: s.managed,
          ...(s.serialNumber ? { serial: s.serialNumber } : {}),
          ...(s.notAfter ? { notAfter: s.notAfter.toISOString() } : {}),
          ...(s.renewAt ? { renewAt: s.renewAt.toISOString() } : {}),
          ...(s.errorCode ? { errorCode: s.errorCode } : {}),
        });
      for (const s of o.board.snapshot()) line(s);
      cleanups.push(o.board.subscribe((e) => line(e.status, e.previous)));
    }
    await untilAborted(context.signal);
    log.log('info', 'stopping');
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

export const statusCommand: CliCommand = {
  name: 'status',
  create(context) {
    const command = new Command('status')
      .summary('show every relay secret: subject, issuer, expiry, renewal time, state')
      .description(
        'Shows every relay secret (root, signing intermediate, server, client, token), managed or bring-your-own,\n' +
          'with subject, issuer, not-after, renewal time (at the grace ratio), time left and state:\n' +
          'ok, renewal-due, expired, not-yet-valid, invalid or missing.\n\n' +
          'Exit status: 0 when every secret shown is usable (ok or renewal-due); 1 when any is expired,\n' +
          'invalid, missing or not yet valid (so a cron job or CI step can alert); 2 bad flags; 4 store\n' +
          'unreachable. With --watch or --serve it runs until stopped (SIGINT/SIGTERM) and exits 0.',
      );
    addStoreOptions(command);
    addOutputOption(command);
    command
      .option('--secrets <list>', 'only these secrets: root,signing,server,client,token (or their names)', collect)
      .option('--ratio <ratio>', 'grace ratio for the renewal time', '0.1')
      .option('--wide', 'never cut a column to fit the terminal (off a terminal nothing is cut anyway)')
      .option('-w, --watch', 'keep the table live (JSON lines when not on a terminal)')
      .option('--serve', 'serve a live web page of the secrets (server-sent events)')
      .addOption(new Option('--host <address>', 'address the page listens on').default('127.0.0.1'))
      .addOption(new Option('--port <port>', 'port the page listens on (0: any free port)').default('0'))
      .addHelpText(
        'after',
        examples(
          'certloop status --dir ./secrets',
          'certloop status --dir ./secrets --secrets root,signing,server,token',
          'certloop status --dir ./secrets --wide',
          'certloop status --dir ./secrets -o json | jq .secrets[].state',
          'certloop status --dir ./secrets --watch',
          'certloop status --dir ./secrets --serve --port 8080   # then open http://127.0.0.1:8080/',
        ),
      )
      .action(async (_opts, cmd: Command) => run(context, cmd));
    return command;
  },
};
