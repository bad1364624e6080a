/**
 * `certloop demo`: the seed's whole system on this machine in about a minute, with nothing to install. A store (the
 * embedded Kubernetes API emulator, namespace gloo-mesh, or `--store file --dir`), the relay PKI bootstrapped in it,
 * the management server (`RelayServer`, in this process), three replicas of cluster-1's agent (`certloop agent`
 * child processes, Lease-elected) bootstrapping with the token and rotating by CSR at the grace ratio, a second cluster whose
 * client certificate is bring-your-own (cert-manager style: used and monitored, never written), the root CA rotated
 * in phases with every agent connected (prepare, converge, activate, drain, retire), the server secret replaced
 * (hot reload) and the leader replica killed (another takes over). `--ca vault` signs through an
 * embedded Vault emulator. A timeline, the status table and the status page run meanwhile; a summary closes it,
 * with exit status 1 if any promise broke.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RelayServer } from '@certloop/agent-rotator';
import { DEFAULT_RELAY_SECRET_NAMES, StoreIssuanceLedger } from '@certloop/core';
import { Command, Option } from 'commander';
import { type ReplicaOutcome, renderFates, replicaFate } from '../demo/fates.js';
import { replaceServerCertificate, setUpPki, signerFromSecret, writeBringYourOwnClient } from '../demo/pki.js';
import { type Replica, type ReplicaLine, startReplica, stopReplica } from '../demo/replicas.js';
import { type DemoRotationResult, runDemoRootRotation } from '../demo/rotation.js';
import { sleep } from '../demo/sleep.js';
import { openDemoStore } from '../demo/store.js';
import { clockTime, createTimeline, short } from '../demo/timeline.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError, EXIT } from '../lib/errors.js';
import { outputStyle } from '../lib/globals.js';
import { examples } from '../lib/options.js';
import { StatusBoard } from '../status/board.js';
import { RotationBoard, renderRotationLines } from '../status/rotation-board.js';
import { startStatusServer } from '../status/serve.js';
import { renderStatusTable } from '../status/table.js';

const names = DEFAULT_RELAY_SECRET_NAMES;
const CLUSTER = 'cluster-1';
const BYO_CLUSTER = 'cluster-2';
const BYO_SECRET = `${names.client}-${BYO_CLUSTER}`;
const CLIENT_LIFETIME = '20s';
const RATIO = 0.5;

async function run(context: CliContext, command: Command): Promise<void> {
  const opts = command.opts();
  const durationMs = parseDuration(String(opts.duration), '--duration') * 1000;
  if (durationMs < 30_000)
    throw cliError('CERTLOOP_USAGE', '--duration must be at least 30s', 'the demo needs time to rotate');
  const style = outputStyle(command, context);
  const c = style.colors;
  const out = context.stdout;
  const signal = context.signal;
  const directory = opts.dir ? resolve(context.cwd, String(opts.dir)) : await mkdtemp(join(tmpdir(), 'certloop-demo-'));
  const demoStore = await openDemoStore(opts.store === 'file' ? 'file' : 'kubernetes', directory);
  const { store } = demoStore;
  const t = createTimeline(out);
  const mgmt = c.blue('management-server');
  const operator = c.bold('operator');
  const colours = [c.cyan, c.magenta, c.yellow, c.green];

  out.write(`${c.bold('certloop demo')}: the relay's certificate lifecycle, end to end\n`);
  out.write(c.dim(`store: ${demoStore.description}\n`));
  for (const note of demoStore.notes) out.write(`${note}\n`);
  out.write(
    c.dim(
      `${CLUSTER}: 3 agent replicas, client certificates of ${CLIENT_LIFETIME} rotated at ratio ${RATIO}; ` +
        `${BYO_CLUSTER}: bring-your-own client certificate\n\n`,
    ),
  );

  let pki: Awaited<ReturnType<typeof setUpPki>>;
  try {
    pki = await setUpPki(store, opts.ca === 'vault' || opts.ca === 'pkcs11' ? opts.ca : 'local');
  } catch (err) {
    await demoStore.close();
    throw err;
  }
  const replicas: Replica[] = [];
  const killed = new Map<Replica, NonNullable<ReplicaOutcome['killed']>>();
  const counters = { reloads: 0, bootstraps: 0, renewals: 0, elections: 0, byoWrites: 0, renewalFailures: 0 };
  // the root rotation runs on the local CA (keys in the store); with Vault or a PKCS#11 token the demo does not rotate
  const rotating = opts.ca !== 'vault' && opts.ca !== 'pkcs11';
  let rotation: Promise<DemoRotationResult> | undefined;
  let leader: string | undefined;
  let server: RelayServer | undefined;
  let board: StatusBoard | undefined;
  let byoBoard: StatusBoard | undefined;
  let page: { url: string; close(): Promise<void> } | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let closeRotationBoard: (() => void) | undefined;
  try {
    t.event(
      mgmt,
      `bootstrapped the relay PKI (${pki.created.join(', ') || 'nothing new'}); signing CA: ${pki.description}`,
    );
    const byo = await writeBringYourOwnClient(demoStore.certManager, pki.ca, BYO_SECRET, BYO_CLUSTER);
    t.event(
      operator,
      `cert-manager wrote ${BYO_SECRET} (${short(byo.serialNumber)}): bring-your-own, certloop never writes it`,
    );

    const ledger = new StoreIssuanceLedger({ store });
    server = new RelayServer({
      store,
      address: '127.0.0.1:0',
      ...(pki.serverCa ? { ca: pki.serverCa } : {}),
      ...(pki.signingKey ? { signingKey: pki.signingKey } : {}),
      ...(pki.clientIntermediatesPem ? { clientIntermediatesPem: pki.clientIntermediatesPem } : {}),
      caPolicy: { backdateSeconds: 1 },
      heartbeatIntervalMs: 1000,
      monitorExpiry: false,
      // the root rotation midway: agents' bundles in a table, RenewNow on the streams, issuances in a ledger
      convergence: { replicaId: 'management-server' },
      ...(rotating ? { ledger } : {}),
    });
    server.subscribe((e) => {
      if (e.type === 'server-certificate' && e.previous) {
        counters.reloads++;
        t.event(
          mgmt,
          c.green(`hot-reloaded its certificate ${short(e.previous)} -> ${short(e.serialNumber)}; streams stay up`),
        );
      } else if (e.type === 'issued') {
        if (e.method === 'Bootstrap') counters.bootstraps++;
        else counters.renewals++;
        t.event(mgmt, c.dim(`signed a CSR for ${e.cluster} by ${e.method} (${short(e.serialNumber)})`));
      } else if (e.type === 'refused') {
        t.event(mgmt, c.red(`refused ${e.method} from ${e.peer} (${e.code})`));
      }
    });
    const address = await server.start();
    t.event(mgmt, `gRPC relay with mutual TLS on ${address}`);

    board = new StatusBoard({
      watcher: store,
      roles: opts.ca === 'vault' ? ['server', 'client', 'token'] : ['root', 'signing', 'server', 'client', 'token'],
      ratio: RATIO,
    });
    byoBoard = new StatusBoard({
      watcher: store,
      roles: ['client'],
      names: { ...names, client: BYO_SECRET },
      ratio: RATIO,
    });
    const rotationBoard = new RotationBoard(store, 1000);
    closeRotationBoard = () => rotationBoard.stop();
    await Promise.all([board.start(), byoBoard.start(), rotationBoard.start()]);
    if (opts.serve !== false) {
      page = await startStatusServer({
        board,
        moreBoards: [byoBoard],
        clusters: () =>
          [CLUSTER, BYO_CLUSTER].map((cluster) => ({
            cluster,
            secret: cluster === CLUSTER ? names.client : BYO_SECRET,
            managed: cluster === CLUSTER,
            replicas: replicas
              .filter((r) => r.spec.cluster === cluster)
              .map((r) => ({
                name: r.spec.name,
                alive: r.alive,
                leader: cluster === CLUSTER && r.spec.name === leader && r.alive,
                connected: r.connected,
                ...(r.lastHeartbeatAt ? { lastHeartbeat: new Date(r.lastHeartbeatAt).toISOString() } : {}),
              })),
          })),
        host: '127.0.0.1',
        port: Number(opts.port),
        storeDescription: demoStore.description,
        rotations: () => rotationBoard.lines(),
      });
      t.event(c.bold('status page'), `${page.url} (each certificate on its own scale, renewals, clusters, live)`);
    }
    const table = () => {
      const rows = [...board!.snapshot(), ...byoBoard!.snapshot().map((r) => ({ ...r, role: 'client' as const }))];
      const rotations = renderRotationLines(rotationBoard.lines());
      out.write(`\n${renderStatusTable(rows, style)}${rotations ? `${rotations}\n` : ''}\n`);
    };
    ticker = setInterval(table, 15_000);

    const common = [
      ...demoStore.agentArgs,
      '--server-address',
      address,
      '--server-name',
      'localhost',
      '--heartbeat-interval',
      '1s',
      // heartbeats are logged at debug: the timeline and the summary count them
      '--log-level',
      'debug',
    ];
    const env = { ...process.env, NO_COLOR: '1' } as NodeJS.ProcessEnv;
    delete env.CERTLOOP_CONFIG;
    const onLine = (replica: Replica, line: ReplicaLine) => {
      const i = replicas.indexOf(replica);
      const who = (colours[i] ?? c.cyan)(replica.spec.name);
      switch (line.msg) {
        case 'relay agent started':
          t.event(who, c.dim(`started (pid ${replica.child.pid}, ${String(line.mode)})`));
          break;
        case 'elected leader':
          counters.elections++;
          leader = replica.spec.name;
          t.event(
            who,
            c.bold(c.green(`elected leader (${opts.store === 'file' ? 'file lease' : 'Kubernetes Lease'})`)),
          );
          break;
        case 'lost leadership':
          t.event(who, c.yellow(`lost leadership (${String(line.reason)})`));
          break;
        case 'rotation scheduled':
          if (replica.spec.name === leader)
            t.event(who, `rotation scheduled for ${clockTime(line.renewAt)} (${short(line.serialNumber)})`);
          break;
        case 'rotation succeeded':
          t.event(
            who,
            c.green(
              `rotated by ${String(line.path)}: ${short(line.serialNumber)}, not after ${clockTime(line.notAfter)}`,
            ),
          );
          break;
        case 'rotation failed':
          counters.renewalFailures++;
          t.event(who, c.red(`rotation failed (${String(line.code)}), backing off`));
          break;
        case 'connected':
          t.event(who, c.dim(`relay stream up with client certificate ${short(line.clientSerialNumber)}`));
          break;
        case 'connect-failed':
        case 'disconnected':
          if (line.code) t.event(who, c.red(`${line.msg} (${String(line.code)})`));
          break;
        case 'client certificate refused':
        case 'client certificate expired':
          t.event(who, c.red(`${line.msg} ${String(line.code ?? '')}`));
          break;
      }
    };
    for (let i = 1; i <= 3; i++) {
      const name = `replica-${i}`;
      replicas.push(
        startReplica(
          {
            name,
            cluster: CLUSTER,
            args: [
              ...common,
              '--cluster',
              CLUSTER,
              '--identity',
              name,
              '--lifetime',
              CLIENT_LIFETIME,
              '--client-tls-secret-rotation-grace-period-ratio',
              String(RATIO),
              ...demoStore.leaderArgs,
              '--lease-duration',
              '3s',
            ],
          },
          env,
          onLine,
        ),
      );
    }
    replicas.push(
      startReplica(
        {
          name: `${BYO_CLUSTER}-agent`,
          cluster: BYO_CLUSTER,
          args: [
            ...common,
            '--cluster',
            BYO_CLUSTER,
            '--identity',
            `${BYO_CLUSTER}-agent`,
            '--client-secret',
            BYO_SECRET,
          ],
        },
        env,
        onLine,
      ),
    );

    await sleep(t.startedAt + durationMs * 0.15 - Date.now(), signal);
    // the rotation starts once both clusters hold a relay stream (child processes may take a while to start)
    const connected = () => new Set(server!.connections().map((x) => x.cluster)).size >= 2;
    while (!signal.aborted && !connected() && Date.now() < t.startedAt + durationMs * 0.3) await sleep(200, signal);
    if (!signal.aborted && rotating) {
      t.event(operator, `certloop ca prepare --ca root: rotating the root with every agent connected`);
      rotation = runDemoRootRotation({
        store,
        keys: pki.keys,
        certManager: demoStore.certManager,
        server,
        ledger,
        byo: { secret: BYO_SECRET, cluster: BYO_CLUSTER },
        clusters: [CLUSTER, BYO_CLUSTER],
        timeline: t,
        colors: c,
        signal,
        dwellMs: durationMs / 20,
        phaseTimeoutMs: durationMs * 0.3,
      });
    }
    await sleep(t.startedAt + durationMs * 0.5 - Date.now(), signal);
    if (!signal.aborted) {
      // whatever signs now (after the rotation: the intermediate under the new root)
      const signing = rotating ? await store.get(names.signing) : undefined;
      const signer = signing ? await signerFromSecret(signing, pki.keys) : pki.ca;
      const serial = await replaceServerCertificate(store, signer);
      t.event(operator, `replaced ${names.server} in the store (new certificate ${short(serial)})`);
    }
    await sleep(t.startedAt + durationMs * 0.7 - Date.now(), signal);
    const victim = replicas.find((r) => r.spec.name === leader && r.alive);
    if (!signal.aborted && victim) {
      killed.set(victim, { atSeconds: (Date.now() - t.startedAt) / 1000, wasLeader: true });
      victim.child.kill('SIGKILL');
      t.event(operator, c.red(`killed the leader ${victim.spec.name} (SIGKILL)`));
    }
    await sleep(t.startedAt + durationMs - Date.now(), signal);
    clearInterval(ticker);
    table();

    // the end: every replica still running gets SIGTERM and must stop cleanly (lease released, stream closed)
    const survivors = replicas.filter((r) => r.alive);
    await Promise.all(survivors.map((r) => stopReplica(r)));
    const rotated = await rotation;
    const byoAfter = await store.get(BYO_SECRET);
    const certManagerVersions = [byo.version, ...(rotated?.byoVersions ?? [])];
    if (!certManagerVersions.includes(byoAfter?.version ?? '')) counters.byoWrites++;
    const rootRotated = rotated?.record?.phase === 'retired';
    const metrics = server.metrics();
    const refused = Object.values(metrics.refused).reduce((n, v) => n + (v ?? 0), 0);
    const heartbeats = replicas.reduce((n, r) => n + r.heartbeats, 0);
    const failures = replicas.reduce((n, r) => n + r.failures, 0);
    const byoConnected = replicas.at(-1)!.heartbeats > 0;
    const fates = replicas.map((r) =>
      replicaFate({
        name: r.spec.name,
        killed: killed.get(r),
        stoppedAtEnd: survivors.includes(r),
        exitCode: r.exitCode,
        signal: r.signal,
      }),
    );
    const uncleanStops = survivors.filter((r) => r.exitCode !== 0);
    const leaderChanges = Math.max(0, counters.elections - 1);
    const promises: [string, string | number, boolean][] = [
      ['bootstraps with the token', counters.bootstraps, counters.bootstraps >= 1],
      ['rotations by CSR (Renew)', counters.renewals, counters.renewals >= 1],
      ['requests ok (heartbeats)', heartbeats, heartbeats > 0],
      ['requests failed', failures, failures === 0],
      ['renewals failed', counters.renewalFailures, counters.renewalFailures === 0],
      ['calls refused by the server', refused, refused === 0],
      ['server hot reloads', counters.reloads, counters.reloads >= 1],
      ...(rotating
        ? ([
            [
              'root rotated (prepare..retire)',
              rootRotated ? 'prepare, converge, activate, drain, retire' : (rotated?.error ?? 'no'),
              rootRotated,
            ],
          ] as [string, string, boolean][])
        : []),
      ['leader changes', leaderChanges, leaderChanges >= 1],
      [`${BYO_CLUSTER} (bring-your-own) connected`, byoConnected ? 'yes' : 'no', byoConnected],
      [`${BYO_CLUSTER}'s secret written by certloop`, counters.byoWrites, counters.byoWrites === 0],
      [
        'survivors stopped cleanly on SIGTERM',
        `${survivors.length - uncleanStops.length}/${survivors.length}`,
        uncleanStops.length === 0,
      ],
      [
        'replicas ending as the demo meant',
        `${fates.filter((f) => f.expected).length}/${fates.length}`,
        fates.every((f) => f.expected),
      ],
    ];
    out.write(`\n${c.bold('summary')}\n`);
    for (const [label, value, good] of promises) {
      out.write(`  ${label.padEnd(40)} ${good ? c.green(String(value)) : c.red(String(value))}\n`);
    }
    out.write(`\n${c.bold('replicas')}\n`);
    out.write(
      renderFates(fates, (f, text) =>
        f.kind === 'killed' ? c.yellow(text) : f.expected ? c.green(text) : c.red(text),
      ),
    );
    for (const r of replicas) {
      if (r.failures) out.write(c.red(`  ${r.spec.name} last error: ${r.lastError}\n`));
      if (r.stderr.trim()) out.write(c.red(`  ${r.spec.name} stderr: ${r.stderr.trim().split('\n').at(-1)}\n`));
    }
    const broken = promises.filter(([, , good]) => !good);
    if (signal.aborted) {
      out.write(c.yellow('\ninterrupted: the summary covers the run so far\n'));
      context.exitCode = EXIT.checkFailed;
    } else if (broken.length) {
      out.write(c.red(`\n${broken.length} promise(s) broken: ${broken.map(([l]) => l).join(', ')}\n`));
      context.exitCode = EXIT.checkFailed;
    } else {
      out.write(
        c.green(
          `\nevery promise kept: ${CLUSTER}'s private keys never left its replicas; ${BYO_CLUSTER}'s secret was never written.\n`,
        ),
      );
    }
  } finally {
    if (ticker) clearInterval(ticker);
    for (const r of replicas) if (r.alive) r.child.kill('SIGKILL');
    await page?.close();
    board?.stop();
    byoBoard?.stop();
    closeRotationBoard?.();
    await server?.stop({ graceMs: 500 });
    await demoStore.close();
    await pki.close();
    if (!opts.dir && !opts.keep) await rm(directory, { recursive: true, force: true });
  }
}

export const demoCommand: CliCommand = {
  name: 'demo',
  create(context) {
    const command = new Command('demo')
      .summary("the relay's whole certificate lifecycle, live, in about a minute")
      .description(
        "Runs the seed's system on this machine: the relay PKI bootstrapped in a store, the management server,\n" +
          'three agent replicas of cluster-1 (leader-elected; bootstrap with the token, rotation by CSR at the\n' +
          'grace ratio), cluster-2 with a bring-your-own (cert-manager style) client certificate that is used and\n' +
          'monitored but never written, the root CA rotated midway with every agent connected (prepare, converge,\n' +
          'activate, drain, retire), the server secret replaced (hot reload) and the leader replica\n' +
          'killed (another takes over). --ca vault signs through an embedded Vault emulator. Shows a timeline,\n' +
          'the status table and the status page; ends with a summary.\n\n' +
          'Exit status: 0 every promise kept; 1 a promise broke (listed); 2 bad flags.',
      )
      .addOption(
        new Option('--store <kind>', 'kubernetes: the embedded Kubernetes API emulator; file: a folder')
          .choices(['kubernetes', 'file'])
          .default('kubernetes'),
      )
      .option('--dir <dir>', 'file store: keep it in this folder (default: a temporary one, removed at the end)')
      .option('--keep', 'keep the temporary folder')
      .addOption(
        new Option('--ca <kind>', 'the signing CA (pkcs11: its keys on a SoftHSM2 token, when SoftHSM2 is installed)')
          .choices(['local', 'vault', 'pkcs11'])
          .default('local'),
      )
      .option('--duration <duration>', 'how long the demo runs', '60s')
      .option('--no-serve', 'do not serve the status page')
      .option('--port <port>', 'status page port (0: any free one)', '0')
      .addHelpText(
        'after',
        examples('certloop demo', 'certloop demo --ca vault', 'certloop demo --store file --dir ./demo --no-serve'),
      )
      .action(async (_opts, cmd: Command) => run(context, cmd));
    return command;
  },
};
