/**
 * `certloop agent`: runs one replica of a cluster's relay agent (`RelayAgent` of `@certloop/agent-rotator`): it
 * bootstraps with the token when it has no client certificate, holds its relay stream over mutual TLS, and, when it
 * is the elected leader among the cluster's replicas, renews the client certificate by CSR once
 * `clientTlsSecretRotationGracePeriodRatio` of its lifetime is left. A bring-your-own client secret (say
 * cert-manager's) is used and monitored, never written. SIGTERM stops it cleanly: its lease is released and its
 * stream closed.
 */
import { hostname } from 'node:os';
import { RelayAgent } from '@certloop/agent-rotator';
import { DEFAULT_RELAY_SECRET_NAMES, type LeaderElector } from '@certloop/core';
import { Command, Option } from 'commander';
import type { CliCommand } from '../lib/command.js';
import { applyConfigFile, parseNumber } from '../lib/config.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError } from '../lib/errors.js';
import { untilAborted } from '../lib/globals.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { addStoreOptions, examples, storeFlags } from '../lib/options.js';
import { logAgentEvent } from '../relay/events.js';
import { LEADER_ELECTORS } from '../relay/leader.js';
import { openStore } from '../store-factory.js';

async function run(context: CliContext, command: Command): Promise<void> {
  await applyConfigFile(command, context);
  const opts = command.opts();
  if (!opts.cluster) throw cliError('CERTLOOP_USAGE', 'certloop agent needs --cluster NAME (or CERTLOOP_CLUSTER)');
  if (!opts.serverAddress) {
    throw cliError('CERTLOOP_USAGE', 'certloop agent needs --server-address HOST:PORT (or CERTLOOP_SERVER_ADDRESS)');
  }
  const ratio = parseNumber(
    opts.clientTlsSecretRotationGracePeriodRatio,
    '--client-tls-secret-rotation-grace-period-ratio',
    {
      min: 0,
      max: 1,
      exclusive: true,
    },
  );
  const lifetimeSeconds = parseDuration(String(opts.lifetime), '--lifetime');
  const heartbeatIntervalMs = parseDuration(String(opts.heartbeatInterval), '--heartbeat-interval') * 1000;
  const identity = String(opts.identity ?? `${hostname()}-${process.pid}`);
  const log = createLogger(context.stdout, { level: opts.logLevel as LogLevel });
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  try {
    const leader: LeaderElector | undefined = await LEADER_ELECTORS[
      opts.leaderElection as keyof typeof LEADER_ELECTORS
    ]?.({
      opts,
      cwd: context.cwd,
      identity,
      cluster: String(opts.cluster),
      opened,
    });
    const agent = new RelayAgent({
      store: opened.store,
      cluster: String(opts.cluster),
      serverAddress: String(opts.serverAddress),
      ...(opts.serverName ? { serverName: String(opts.serverName) } : {}),
      ...(leader ? { leader } : {}),
      ratio,
      lifetimeSeconds,
      heartbeatIntervalMs,
      agentName: identity,
      names: { client: String(opts.clientSecret) },
      recheckIntervalMs: Math.min(60_000, Math.max(1000, lifetimeSeconds * 50)),
      rotationBackoff: { initialMs: 200, maxMs: Math.min(30_000, Math.max(2000, lifetimeSeconds * 100)) },
      reconnectBackoff: { initialMs: 200, maxMs: Math.min(30_000, Math.max(2000, lifetimeSeconds * 100)) },
    });
    agent.subscribe((event) => logAgentEvent(log, event));
    await agent.start();
    const status = agent.status();
    log.log('info', 'relay agent started', {
      cluster: status.cluster,
      identity,
      mode: status.mode,
      store: opened.description,
      server: String(opts.serverAddress),
      ratio,
    });
    await untilAborted(context.signal);
    log.log('info', 'stopping', { leader: agent.status().leader });
    await agent.stop();
    log.log('info', 'relay agent stopped', { cluster: status.cluster, identity });
  } finally {
    await opened.close();
  }
}

export const agentCommand: CliCommand = {
  name: 'agent',
  create(context) {
    const command = new Command('agent')
      .summary("run a replica of a cluster's relay agent (bootstrap, rotation by CSR, relay stream)")
      .description(
        "Runs one replica of a cluster's relay agent. With no client certificate it bootstraps with the token\n" +
          '(relay-identity-token-secret); it holds its relay stream over mutual TLS; and when it is the leader\n' +
          "among the cluster's replicas (--leader-election) it renews relay-client-tls-secret by CSR once\n" +
          'clientTlsSecretRotationGracePeriodRatio of its lifetime is left. A bring-your-own client secret\n' +
          "(cert-manager's) is used and monitored, never written. Settings: flags, CERTLOOP_* variables, or\n" +
          '--config FILE (YAML or JSON, flags in camelCase). JSON log lines off a terminal. SIGTERM releases the\n' +
          'lease and closes the stream.\n\n' +
          'Exit status: 0 stopped by a signal; 2 bad flags or config; 4 store unreachable.',
      );
    addStoreOptions(command);
    command
      .addOption(new Option('--config <file>', 'settings file (YAML or JSON)').env('CERTLOOP_CONFIG'))
      .addOption(
        new Option('--log-level <level>', 'lowest level logged (heartbeats are debug)')
          .choices(LOG_LEVELS)
          .default('info')
          .env('CERTLOOP_LOG_LEVEL'),
      )
      .addOption(
        new Option('--cluster <name>', "this cluster's name (its certificate's identity)").env('CERTLOOP_CLUSTER'),
      )
      .addOption(new Option('--server-address <host:port>', 'the management server').env('CERTLOOP_SERVER_ADDRESS'))
      .addOption(
        new Option('--server-name <name>', "the name the server certificate carries, when not the address's host").env(
          'CERTLOOP_SERVER_NAME',
        ),
      )
      .addOption(
        new Option(
          '--client-tls-secret-rotation-grace-period-ratio <ratio>',
          'share of the lifetime left when the client certificate is renewed, in (0, 1)',
        )
          .default('0.1')
          .env('CERTLOOP_CLIENT_TLS_SECRET_ROTATION_GRACE_PERIOD_RATIO'),
      )
      .addOption(
        new Option('--lifetime <duration>', 'client certificate lifetime asked for')
          .default('365d')
          .env('CERTLOOP_LIFETIME'),
      )
      .addOption(
        new Option('--client-secret <name>', 'the client certificate secret')
          .default(DEFAULT_RELAY_SECRET_NAMES.client)
          .env('CERTLOOP_CLIENT_SECRET'),
      )
      .addOption(
        new Option(
          '--leader-election <kind>',
          'how replicas elect the one that renews (file: a lease file in --lease-dir)',
        )
          .choices(Object.keys(LEADER_ELECTORS).concat('none'))
          .default('none')
          .env('CERTLOOP_LEADER_ELECTION'),
      )
      .addOption(
        new Option('--lease-dir <dir>', 'file leader election: the shared lease folder').env('CERTLOOP_LEASE_DIR'),
      )
      .addOption(
        new Option('--lease-duration <duration>', 'leader election: how long a lease lasts unrenewed')
          .default('15s')
          .env('CERTLOOP_LEASE_DURATION'),
      )
      .addOption(new Option('--identity <name>', "this replica's name (default host-pid)").env('CERTLOOP_IDENTITY'))
      .addOption(
        new Option('--heartbeat-interval <duration>', 'heartbeat on the relay stream')
          .default('30s')
          .env('CERTLOOP_HEARTBEAT_INTERVAL'),
      )
      .addHelpText(
        'after',
        examples(
          'certloop agent --dir ./secrets --cluster cluster-1 --server-address mgmt.example:9900',
          'certloop agent --config agent.yaml   # clientTlsSecretRotationGracePeriodRatio: 0.2',
          'certloop agent --dir ./secrets --cluster c1 --server-address 127.0.0.1:9900 --server-name localhost \\\n' +
            '    --leader-election file --lease-dir ./leases --identity replica-1',
        ),
      )
      .action(async (_opts, cmd: Command) => run(context, cmd));
    return command;
  },
};
