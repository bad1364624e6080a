/**
 * `certloop server`: runs the relay's management server (`RelayServer` of `@certloop/agent-rotator`) on a store:
 * its TLS identity from `relay-server-tls-secret` (hot-reloaded), agents' CSRs signed by the store's signing CA or
 * `--ca vault`, bootstrap tokens checked against `relay-identity-token-secret`. Settings come from flags,
 * `CERTLOOP_*` variables or `--config FILE`; `--ca pkcs11` signs with the signing secret's certificate and the
 * key on a PKCS#11 token (`--pkcs11-uri`); it logs one JSON object per line when standard output is not a
 * terminal. SIGTERM or SIGINT stops it cleanly: open streams are closed, then the store.
 */
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { forkRelayReplicas, RelayServer, replicaIndex, type SigningKeyResolver } from '@certloop/agent-rotator';
import { type ExternalPrivateKey, StoreIssuanceLedger } from '@certloop/core';
import { Command, Option } from 'commander';
import { type OpenedCa, openCertificateAuthority } from '../ca-factory.js';
import type { CliCommand } from '../lib/command.js';
import { applyConfigFile } from '../lib/config.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError } from '../lib/errors.js';
import { untilAborted } from '../lib/globals.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { addCaOptions, addStoreOptions, caFlags, examples, storeFlags } from '../lib/options.js';
import { loadPkcs11, pkcs11Options } from '../pkcs11.js';
import { logServerEvent } from '../relay/events.js';
import { openStore } from '../store-factory.js';

/**
 * `--call-rate` and `--call-burst`: the per-address call limit of each replica (RelayServer's `callRateLimit`;
 * defaults 100/s and 200). Sized for the agents behind one address (a NAT): see the agent-rotator README.
 */
function callLimitOf(rate: unknown, burst: unknown): { perSecond: number; burst: number } | undefined {
  if (rate === undefined && burst === undefined) return undefined;
  const perSecond = rate === undefined ? 100 : Number(rate);
  const size = burst === undefined ? Math.max(200, 2 * perSecond) : Number(burst);
  if (!(Number.isFinite(perSecond) && perSecond >= 0) || !(Number.isFinite(size) && size >= 1)) {
    throw cliError(
      'CERTLOOP_USAGE',
      `--call-rate ${String(rate)} / --call-burst ${String(burst)}: not a limit`,
      'give calls per second per address (>= 0) and a burst (>= 1), e.g. --call-rate 500 --call-burst 30000',
    );
  }
  return { perSecond, burst: size };
}

async function run(context: CliContext, command: Command): Promise<void> {
  await applyConfigFile(command, context);
  const opts = command.opts();
  const maxLifetimeSeconds = parseDuration(String(opts.maxLifetime), '--max-lifetime');
  const defaultLifetimeSeconds = parseDuration(String(opts.defaultLifetime), '--default-lifetime');
  const heartbeatIntervalMs = parseDuration(String(opts.heartbeatInterval), '--heartbeat-interval') * 1000;
  const backdateSeconds = opts.backdate ? parseDuration(String(opts.backdate), '--backdate') : undefined;
  const renewRatio = opts.renewServerCertificate === undefined ? undefined : Number(opts.renewServerCertificate);
  if (renewRatio !== undefined && !(renewRatio > 0 && renewRatio < 1)) {
    throw cliError(
      'CERTLOOP_USAGE',
      `--renew-server-certificate ${JSON.stringify(String(opts.renewServerCertificate))} is not a grace ratio`,
      'give a number between 0 and 1, e.g. 0.1',
    );
  }
  const callRateLimit = callLimitOf(opts.callRate, opts.callBurst);
  const log = createLogger(context.stdout, { level: opts.logLevel as LogLevel });
  const replicas = Number(opts.replicas ?? 1);
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw cliError('CERTLOOP_USAGE', `--replicas ${opts.replicas} is not a whole number >= 1`);
  }
  if (replicas > 1 && cluster.isPrimary) {
    // the primary only holds the shared socket and supervises: each worker is a whole server on the same store
    const set = forkRelayReplicas({
      count: replicas,
      onExit: (index, code) => log.log('warn', 'replica exited', { replica: index, code }),
    });
    log.log('info', 'relay replicas started', { replicas, address: String(opts.address) });
    await untilAborted(context.signal);
    await set.stop({ graceMs: Number(opts.graceMs ?? 2000) + 1000 });
    log.log('info', 'relay replicas stopped', { replicas });
    return;
  }
  const replica = replicaIndex(context.env);
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  let external: OpenedCa | undefined;
  let server: RelayServer | undefined;
  let token: { close(): void; description: string } | undefined;
  let signingKey: ExternalPrivateKey | SigningKeyResolver | undefined;
  try {
    if (opts.ca === 'pkcs11') {
      // the server follows relay-tls-signing-secret as with --ca local; only the key is on the token
      const hsm = pkcs11Options(caFlags(opts), context.env, '--ca pkcs11');
      const pkcs11 = await loadPkcs11();
      const opened = await pkcs11.Pkcs11Token.open(hsm, { signal: context.signal });
      token = opened;
      const named = pkcs11.parsePkcs11Uri(hsm.uri);
      // a URI naming the key pins it; without object= or id= the key is the one matching the signing certificate,
      // found on the token again whenever that certificate changes (a CA rotated to a new key on the token)
      signingKey =
        named.object !== undefined || named.id
          ? await opened.key({ label: named.object, id: named.id }, { signal: context.signal })
          : pkcs11.pkcs11SigningKeys(opened);
    } else if (opts.ca === 'vault') {
      external = await openCertificateAuthority({
        flags: caFlags(opts),
        store: opened.store,
        signal: context.signal,
        env: context.env,
      });
    }
    const clientIntermediatesPem = await external?.intermediatesPem?.();
    server = new RelayServer({
      store: opened.store,
      address: String(opts.address),
      ...(external ? { ca: external.ca } : {}),
      ...(signingKey ? { signingKey } : {}),
      ...(clientIntermediatesPem ? { clientIntermediatesPem } : {}),
      maxLifetimeSeconds,
      defaultLifetimeSeconds: Math.min(defaultLifetimeSeconds, maxLifetimeSeconds),
      heartbeatIntervalMs,
      ...(callRateLimit ? { callRateLimit } : {}),
      ...(backdateSeconds !== undefined ? { caPolicy: { backdateSeconds } } : {}),
      // a CA rotation run anywhere (certloop ca, another replica) sees this replica's agents and reaches them
      convergence: {
        replicaId: String(opts.replicaId ?? `${hostname()}-${process.pid}`),
        publish: opts.publishBundleTable !== false,
      },
      // the drain counts the leaves still under the old CA from these records
      ...(external || opts.issuanceLedger === false
        ? {}
        : { ledger: new StoreIssuanceLedger({ store: opened.store }) }),
      // one CRL writer among replicas: replica 0
      republishCrl: replica === undefined || replica === 0,
      // opt-in: relay-server-tls-secret renewed at this ratio by the signing CA (compare-and-swap on the secret)
      ...(renewRatio !== undefined ? { serverCertificateRenewal: { ratio: renewRatio } } : {}),
    });
    server.subscribe((event) => logServerEvent(log, event));
    const address = await server.start();
    log.log('info', 'relay server listening', {
      address,
      store: opened.description,
      ca:
        external?.description ??
        (signingKey
          ? `local relay-tls-signing-secret, key ${typeof signingKey === 'function' ? `on ${token?.description}` : signingKey.description}`
          : 'local relay-tls-signing-secret'),
      ...(replica !== undefined ? { replica } : {}),
      serverSerialNumber: server.metrics().serverSerialNumber,
    });
    await untilAborted(context.signal);
    log.log('info', 'stopping', { connectedAgents: server.metrics().connectedAgents });
    await server.stop({ graceMs: Number(opts.graceMs ?? 2000) });
    const metrics = server.metrics();
    log.log('info', 'relay server stopped', {
      issued: metrics.issued,
      bootstraps: metrics.bootstraps,
      renewals: metrics.renewals,
    });
  } finally {
    external?.close();
    token?.close();
    await opened.close();
  }
}

export const serverCommand: CliCommand = {
  name: 'server',
  create(context) {
    const command = new Command('server')
      .summary("run the relay's management server (gRPC, mutual TLS)")
      .description(
        "Runs the relay's management server on a store made by `certloop init`: it serves the certificate of\n" +
          "relay-server-tls-secret (a new one is taken without a restart), signs agents' CSRs (Bootstrap with the\n" +
          "token, Renew with the current client certificate) with the store's signing CA or --ca vault, and holds\n" +
          "agents' relay streams. For a CA rotation (`certloop ca`) it publishes which trust bundle each agent\n" +
          'holds (relay-bundle-observations-<replica>), records what it issues (relay-issuance-ledger) and passes\n' +
          'renewal requests on to its agents. --renew-server-certificate RATIO (opt-in) renews its own certificate\n' +
          'with the signing CA at that grace ratio (the hot reload takes it).  Settings: flags, CERTLOOP_* variables, or --config FILE (YAML or JSON\n' +
          'with the flags in camelCase). Logs JSON lines when standard output is not a terminal. SIGTERM stops it cleanly.\n\n' +
          'Exit status: 0 stopped by a signal; 2 bad flags or config; 4 store or CA unreachable, address in use.',
      );
    addStoreOptions(command);
    addCaOptions(command);
    command
      .addOption(new Option('--config <file>', 'settings file (YAML or JSON)').env('CERTLOOP_CONFIG'))
      .addOption(new Option('--address <host:port>', 'where to listen').default('0.0.0.0:9900').env('CERTLOOP_ADDRESS'))
      .addOption(
        new Option('--max-lifetime <duration>', 'longest client certificate granted')
          .default('365d')
          .env('CERTLOOP_MAX_LIFETIME'),
      )
      .addOption(
        new Option('--default-lifetime <duration>', 'lifetime when an agent asks for none')
          .default('365d')
          .env('CERTLOOP_DEFAULT_LIFETIME'),
      )
      .addOption(
        new Option('--heartbeat-interval <duration>', 'heartbeat on each relay stream')
          .default('30s')
          .env('CERTLOOP_HEARTBEAT_INTERVAL'),
      )
      .addOption(
        new Option('--replica-id <name>', 'this replica in the bundle tables (default: host-pid)').env(
          'CERTLOOP_REPLICA_ID',
        ),
      )
      .addOption(
        new Option(
          '--renew-server-certificate <ratio>',
          'renew relay-server-tls-secret when this share of its lifetime is left (opt-in; e.g. 0.1)',
        ).env('CERTLOOP_RENEW_SERVER_CERTIFICATE'),
      )
      .option('--no-publish-bundle-table', "do not publish the agents' trust bundles to the store (CA rotation)")
      .option('--no-issuance-ledger', 'do not record issued certificates in the store (CA rotation drain)')
      .addOption(
        new Option('--replicas <n>', 'server processes sharing the address (node:cluster; 1: this process)')
          .default('1')
          .env('CERTLOOP_REPLICAS'),
      )
      .addOption(
        new Option('--call-rate <n>', 'calls per second per client address, per replica (default 100)').env(
          'CERTLOOP_CALL_RATE',
        ),
      )
      .addOption(
        new Option(
          '--call-burst <n>',
          'calls at once per client address, per replica (default 200, or twice --call-rate); size for agents behind one NAT',
        ).env('CERTLOOP_CALL_BURST'),
      )
      .addOption(
        new Option('--log-level <level>', 'lowest level logged (per-connection lines are debug)')
          .choices(LOG_LEVELS)
          .default('info')
          .env('CERTLOOP_LOG_LEVEL'),
      )
      .addOption(
        new Option('--backdate <duration>', "local CA: how far before now a certificate's validity starts").env(
          'CERTLOOP_BACKDATE',
        ),
      )
      .addHelpText(
        'after',
        examples(
          'certloop server --dir ./secrets --address 127.0.0.1:9900',
          'CERTLOOP_DIR=/var/lib/relay certloop server --config relay.yaml',
          'VAULT_TOKEN=... certloop server --dir ./secrets --ca vault --vault-addr https://vault:8200 --vault-role relay',
          "certloop server --dir ./secrets --ca pkcs11 --pkcs11-uri 'pkcs11:token=certloop;object=relay-signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/pin'",
        ),
      )
      .action(async (_opts, cmd: Command) => run(context, cmd));
    return command;
  },
};
