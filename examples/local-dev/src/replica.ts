/**
 * examples/local-dev: one agent replica (a child process). It watches the shared client secret through a
 * CredentialProvider, campaigns for the file lease, rotates the client certificate by CSR when leader, and keeps a
 * request loop going over mTLS with whatever certificate is current. It reports to the orchestrator over IPC.
 */
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import {
  CredentialProvider,
  DEFAULT_RELAY_SECRET_NAMES,
  FileLeaseElector,
  FileSecretStore,
  Rotator,
  readTlsMaterial,
} from '@certloop/core';
import { AGENT_NAME, type ReplicaConfig, type ReplicaMessage, TIMINGS } from './protocol.js';
import { RelayAuthority } from './relay-authority.js';

const config = JSON.parse(process.env.CERTLOOP_REPLICA ?? '{}') as ReplicaConfig;
const names = DEFAULT_RELAY_SECRET_NAMES;
const send = (m: ReplicaMessage) => process.send?.(m);

const store = new FileSecretStore({ directory: join(config.directory, 'secrets') });
const token = readTlsMaterialToken(await store.get(names.token));
const trustBundlePem = readTlsMaterial((await store.get(names.server))!).trustBundlePem!;

const provider = new CredentialProvider({ name: names.client, watcher: store, usage: 'clientAuth', trustBundlePem });
provider.subscribe((e) => {
  if (e.type === 'updated') {
    send({
      kind: 'loaded',
      replica: config.replica,
      serial: e.material.leaf.serialNumber,
      notAfter: e.material.leaf.notAfter.toISOString(),
    });
  }
});
await provider.start();

const elector = new FileLeaseElector({
  directory: join(config.directory, 'leases'),
  identity: config.replica,
  leaseDurationMs: TIMINGS.leaseDurationMs,
  renewDeadlineMs: TIMINGS.renewDeadlineMs,
  retryPeriodMs: TIMINGS.retryPeriodMs,
});
elector.subscribe((e) => {
  if (e.type === 'elected' || e.type === 'lost') {
    send({ kind: 'leader', replica: config.replica, event: e.type, reason: e.type === 'lost' ? e.reason : undefined });
  }
});

const rotator = new Rotator({
  store,
  name: names.client,
  ca: new RelayAuthority({ port: config.port, trustBundlePem, provider, token, agent: AGENT_NAME }),
  ratio: TIMINGS.ratio,
  jitter: 0.1,
  lifetimeSeconds: TIMINGS.clientLifetimeSeconds,
  profile: 'client',
  subject: { commonName: AGENT_NAME },
  dnsNames: [AGENT_NAME],
  leader: elector,
  recheckIntervalMs: 1000,
  backoff: { initialMs: 200, maxMs: 2000 },
});
rotator.subscribe((e) => {
  if (e.type === 'skipped-not-leader') return;
  send({
    kind: 'rotation',
    replica: config.replica,
    event: e.type,
    serial: 'serialNumber' in e ? e.serialNumber : undefined,
    notAfter: e.type === 'succeeded' ? e.notAfter.toISOString() : undefined,
    renewAt: e.type === 'scheduled' ? e.renewAt.toISOString() : undefined,
    code: e.type === 'failed' ? e.error.code : undefined,
  });
});
elector.start();
rotator.start();

// Request loop: one keep-alive agent per certificate version, so established connections finish on the old
// certificate while new connections take the current one.
let ok = 0;
let failed = 0;
let lastError: string | undefined;
let agent: { version: string; agent: Agent } | undefined;
function currentAgent(): Agent | undefined {
  const material = provider.current();
  if (!material) return undefined;
  if (agent?.version !== material.version) {
    const old = agent?.agent;
    setTimeout(() => old?.destroy(), 2000).unref();
    agent = { version: material.version, agent: new Agent({ keepAlive: true, ...provider.secureContextOptions() }) };
  }
  return agent.agent;
}
const loop = setInterval(() => {
  const a = currentAgent();
  if (!a) return;
  const r = request(
    { host: '127.0.0.1', port: config.port, servername: 'localhost', path: '/hello', agent: a, ca: trustBundlePem },
    (res) => {
      res.resume();
      if (res.statusCode === 200) ok++;
      else {
        failed++;
        lastError = `HTTP ${res.statusCode}`;
      }
    },
  );
  r.on('error', (err) => {
    failed++;
    lastError = (err as { code?: string }).code ?? err.message;
  });
  r.end();
}, TIMINGS.requestIntervalMs);
const stats = setInterval(() => send({ kind: 'stats', replica: config.replica, ok, failed, lastError }), 1000);

send({ kind: 'ready', replica: config.replica, pid: process.pid });

process.on('message', async (m) => {
  if (m !== 'stop') return;
  clearInterval(loop);
  await rotator.stop();
  await elector.stop();
  provider.close();
  await store.close();
  clearInterval(stats);
  send({ kind: 'stats', replica: config.replica, ok, failed, lastError });
  agent?.agent.destroy();
  process.disconnect?.();
});

function readTlsMaterialToken(secret: Awaited<ReturnType<typeof store.get>>): string {
  const value = secret?.data.token;
  if (!value) throw new Error('no bootstrap token secret');
  return new TextDecoder().decode(value);
}
