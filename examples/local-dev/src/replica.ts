/**
 * examples/local-dev: one agent replica (a child process), a `RelayAgent` of `@certloop/agent-rotator`. It watches
 * the shared client secret (provider), campaigns for the file lease, rotates the client certificate by CSR over
 * gRPC when leader, and holds its relay stream over mutual TLS with whatever certificate is current; every server
 * heartbeat on that stream counts as a request served. It reports to the orchestrator over IPC.
 */
import { join } from 'node:path';
import { RelayAgent } from '@certloop/agent-rotator';
import { FileLeaseElector, FileSecretStore } from '@certloop/core';
import { AGENT_NAME, type ReplicaConfig, type ReplicaMessage, TIMINGS } from './protocol.js';

const config = JSON.parse(process.env.CERTLOOP_REPLICA ?? '{}') as ReplicaConfig;
const send = (m: ReplicaMessage) => process.send?.(m);

const store = new FileSecretStore({ directory: join(config.directory, 'secrets') });
const elector = new FileLeaseElector({
  directory: join(config.directory, 'leases'),
  identity: config.replica,
  leaseDurationMs: TIMINGS.leaseDurationMs,
  renewDeadlineMs: TIMINGS.renewDeadlineMs,
  retryPeriodMs: TIMINGS.retryPeriodMs,
});
const agent = new RelayAgent({
  store,
  cluster: AGENT_NAME,
  serverAddress: `127.0.0.1:${config.port}`,
  // the server certificate names DNS localhost too; naming it avoids TLS SNI with an IP address
  serverName: 'localhost',
  leader: elector,
  ratio: TIMINGS.ratio,
  jitter: 0.1,
  lifetimeSeconds: TIMINGS.clientLifetimeSeconds,
  agentName: config.replica,
  heartbeatIntervalMs: TIMINGS.requestIntervalMs,
  recheckIntervalMs: 1000,
  rotationBackoff: { initialMs: 200, maxMs: 2000 },
  reconnectBackoff: { initialMs: 200, maxMs: 2000 },
});

let ok = 0;
let failed = 0;
let lastError: string | undefined;
agent.subscribe((e) => {
  switch (e.type) {
    case 'leader':
      if (e.event.type === 'elected' || e.event.type === 'lost') {
        send({
          kind: 'leader',
          replica: config.replica,
          event: e.event.type,
          reason: e.event.type === 'lost' ? e.event.reason : undefined,
        });
      }
      break;
    case 'rotation': {
      const r = e.event;
      if (r.type === 'skipped-not-leader') return;
      send({
        kind: 'rotation',
        replica: config.replica,
        event: r.type,
        serial: 'serialNumber' in r ? r.serialNumber : undefined,
        notAfter: r.type === 'succeeded' ? r.notAfter.toISOString() : undefined,
        renewAt: r.type === 'scheduled' ? r.renewAt.toISOString() : undefined,
        code: r.type === 'failed' ? r.error.code : undefined,
      });
      break;
    }
    case 'certificate':
      send({ kind: 'loaded', replica: config.replica, serial: e.serialNumber, notAfter: e.notAfter.toISOString() });
      break;
    case 'connection':
      // a server heartbeat on the open stream is a request served; a dropped stream or a failed connect is not
      if (e.event.type === 'heartbeat') ok++;
      else if (e.event.type === 'connect-failed' || (e.event.type === 'disconnected' && e.event.error)) {
        failed++;
        lastError = e.event.error?.code;
      }
      break;
  }
});
await agent.start();
const stats = setInterval(() => send({ kind: 'stats', replica: config.replica, ok, failed, lastError }), 1000);

send({ kind: 'ready', replica: config.replica, pid: process.pid });

process.on('message', async (m) => {
  if (m !== 'stop') return;
  await agent.stop();
  await store.close();
  clearInterval(stats);
  send({ kind: 'stats', replica: config.replica, ok, failed, lastError });
  process.disconnect?.();
});
