/**
 * examples/local-dev (what `npm start` runs): the relay certificate lifecycle end to end, in file mode.
 *
 * Bootstraps the relay PKI in a fresh folder; starts the gRPC management server (`RelayServer` of
 * `@certloop/agent-rotator`, mutual TLS, its certificate hot-reloaded from its secret); runs three agent replicas
 * (`RelayAgent`, child processes) sharing one client secret, of which the file-lease leader rotates it by CSR
 * (20 s certificates at ratio 0.5), while every replica holds a relay stream with heartbeats flowing the whole time.
 * Midway it replaces the server's secret on disk (hot reload, streams stay up) and kills the leader (another
 * replica takes over). It ends by itself with a summary; the exit code is non-zero if any stream failed or a step
 * did not happen.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { RelayServer } from '@certloop/agent-rotator';
import {
  authorityFromSecret,
  bootstrapRelayPki,
  createCsr,
  DEFAULT_RELAY_SECRET_NAMES,
  FileSecretStore,
  generateKeyPair,
  issuedTlsSecret,
} from '@certloop/core';
import pc from 'picocolors';
import { AGENT_NAME, type ReplicaMessage, TIMINGS } from './protocol.js';

const names = DEFAULT_RELAY_SECRET_NAMES;
const REPLACE_SERVER_AT = 22_000;
const KILL_LEADER_AT = 38_000;
const END_AT = 62_000;

const started = Date.now();
const colours = [pc.cyan, pc.magenta, pc.yellow];
const short = (serial?: string) => (serial ? serial.slice(0, 8) : '-');
const clock = (iso?: string) => (iso ? iso.slice(11, 19) : '-');
function log(who: string, what: string): void {
  const t = `+${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7);
  // pad by visible width: colour codes do not take room on screen
  const visible = stripVTControlCharacters(who).length;
  console.log(`${pc.dim(t)}  ${who}${' '.repeat(Math.max(1, 20 - visible))}${what}`);
}

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'certloop-local-dev-'));
  const store = new FileSecretStore({ directory: join(directory, 'secrets') });
  console.log(pc.bold('certloop local-dev: the relay lifecycle in file mode'), pc.dim(directory));
  console.log(
    pc.dim(
      `client certificates live ${TIMINGS.clientLifetimeSeconds}s and rotate at ratio ${TIMINGS.ratio}; file lease ${TIMINGS.leaseDurationMs}ms\n`,
    ),
  );
  const server = pc.blue('management-server');
  const pki = await bootstrapRelayPki({ store });
  log(server, `bootstrapped ${pki.created.join(', ')}`);

  const signing = await store.get(names.signing);
  // the operator's own copy of the signing CA, to issue a replacement server certificate midway
  const ca = authorityFromSecret(signing!, { policy: { backdateSeconds: 1 } });

  const relay = new RelayServer({
    store,
    address: '127.0.0.1:0',
    // short-lived demo certificates: backdate by one second only, so the whole 20 s lifetime is usable
    caPolicy: { backdateSeconds: 1 },
    heartbeatIntervalMs: TIMINGS.requestIntervalMs,
    monitorExpiry: false,
  });
  const stats = { reloads: 0 };
  relay.subscribe((e) => {
    if (e.type === 'server-certificate' && e.previous) {
      stats.reloads++;
      log(server, pc.green(`reloaded server certificate ${short(e.previous)} -> ${short(e.serialNumber)}`));
    } else if (e.type === 'server-certificate-rejected') {
      log(server, pc.red(`refused a bad server certificate update (${e.error.code})`));
    } else if (e.type === 'issued') {
      log(server, pc.dim(`signed a CSR for ${e.cluster} by ${e.method} (${short(e.serialNumber)})`));
    } else if (e.type === 'refused') {
      log(server, pc.red(`refused ${e.method} from ${e.peer} (${e.code})`));
    }
  });
  const address = await relay.start();
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  log(server, `gRPC relay on ${address}, server certificate ${short(relay.metrics().serverSerialNumber)}`);

  const replicas = new Map<
    string,
    {
      child: ChildProcess;
      colour: (s: string) => string;
      ok: number;
      failed: number;
      lastError?: string;
      alive: boolean;
    }
  >();
  let leader: string | undefined;
  const loaded = new Map<string, Set<string>>();
  const announced = new Set<string>();
  let elections = 0;
  let rotations = 0;
  const onMessage = (m: ReplicaMessage) => {
    const r = replicas.get(m.replica);
    const who = r ? r.colour(m.replica) : m.replica;
    switch (m.kind) {
      case 'ready':
        log(who, pc.dim(`started (pid ${m.pid})`));
        break;
      case 'leader':
        if (m.event === 'elected') {
          elections++;
          leader = m.replica;
          log(who, pc.bold(pc.green('elected leader')));
        } else log(who, pc.yellow(`lost leadership (${m.reason ?? ''})`));
        break;
      case 'rotation':
        if (m.event === 'scheduled') {
          // every replica computes the schedule; only the leader's matters
          if (m.replica === leader)
            log(who, `rotation scheduled for ${clock(m.renewAt)} (certificate ${short(m.serial)})`);
        } else if (m.event === 'succeeded') {
          rotations++;
          log(who, pc.green(`rotated: new certificate ${short(m.serial)}, not after ${clock(m.notAfter)}`));
        } else if (m.event === 'failed') log(who, pc.red(`rotation failed (${m.code}), backing off`));
        else if (m.event !== 'started') log(who, pc.dim(`rotation ${m.event}`));
        break;
      case 'loaded': {
        // one line once every live replica has picked the new certificate up from the watched secret
        const seen = loaded.get(m.serial) ?? new Set<string>();
        seen.add(m.replica);
        loaded.set(m.serial, seen);
        const alive = [...replicas.entries()].filter(([, r]) => r.alive).map(([name]) => name);
        if (alive.every((name) => seen.has(name)) && !announced.has(m.serial)) {
          announced.add(m.serial);
          log(pc.dim('replicas'), pc.dim(`all ${alive.length} now present client certificate ${short(m.serial)}`));
        }
        break;
      }
      case 'stats':
        if (r) Object.assign(r, { ok: m.ok, failed: m.failed, lastError: m.lastError });
        break;
    }
  };

  const replicaScript = fileURLToPath(new URL('./replica.ts', import.meta.url));
  for (let i = 1; i <= 3; i++) {
    const replica = `replica-${i}`;
    const child = fork(replicaScript, [], {
      execArgv: ['--conditions=source', '--import', 'tsx'],
      env: { ...process.env, CERTLOOP_REPLICA: JSON.stringify({ replica, directory, port }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    replicas.set(replica, { child, colour: colours[i - 1]!, ok: 0, failed: 0, alive: true });
    child.on('message', (m) => onMessage(m as ReplicaMessage));
    child.on('exit', () => {
      replicas.get(replica)!.alive = false;
    });
  }

  const progress = setInterval(() => {
    const ok = [...replicas.values()].reduce((n, r) => n + r.ok, 0);
    const failed = [...replicas.values()].reduce((n, r) => n + r.failed, 0);
    log(pc.dim('streams'), pc.dim(`${ok} heartbeats, ${failed} failures so far`));
  }, 10_000);

  await sleepUntil(REPLACE_SERVER_AT);
  const current = await store.get(names.server);
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: 'relay-server' },
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const issued = await ca.sign({ csrPem, lifetimeSeconds: 3600, profile: 'server' });
  // the trust bundle stays the root the agents already trust
  const replacement = issuedTlsSecret({ role: 'server', privateKeyPem: key.privateKeyPem, result: issued });
  await store.put(
    names.server,
    { ...replacement, data: { ...replacement.data, 'ca.crt': current!.data['ca.crt'] ?? replacement.data['ca.crt']! } },
    { expectedVersion: current!.version },
  );
  log(pc.bold('operator'), `replaced ${names.server} on disk (new certificate ${short(issued.serialNumber)})`);

  await sleepUntil(KILL_LEADER_AT);
  const victim = leader ? replicas.get(leader) : undefined;
  if (victim) {
    victim.child.kill('SIGKILL');
    log(pc.bold('operator'), pc.red(`killed the leader ${leader} with SIGKILL`));
  }

  await sleepUntil(END_AT);
  clearInterval(progress);
  await Promise.all(
    [...replicas.values()]
      .filter((r) => r.alive)
      .map(
        (r) =>
          new Promise<void>((resolve) => {
            const timeout = setTimeout(() => {
              r.child.kill('SIGKILL');
              resolve();
            }, 5000);
            r.child.once('exit', () => {
              clearTimeout(timeout);
              resolve();
            });
            r.child.send('stop');
          }),
      ),
  );
  const refused = Object.values(relay.metrics().refused).reduce((n, c) => n + (c ?? 0), 0);
  await relay.stop({ graceMs: 500 });
  await store.close();

  const ok = [...replicas.values()].reduce((n, r) => n + r.ok, 0);
  const failed = [...replicas.values()].reduce((n, r) => n + r.failed, 0);
  const leaderChanges = Math.max(0, elections - 1);
  console.log(`\n${pc.bold('summary')}`);
  const row = (label: string, value: string | number, good: boolean) =>
    console.log(`  ${label.padEnd(26)} ${good ? pc.green(String(value)) : pc.red(String(value))}`);
  row('rotations done', rotations, rotations > 0);
  row('heartbeats received', ok, ok > 0);
  row('stream failures', failed, failed === 0);
  row('server reloads', stats.reloads, stats.reloads > 0);
  row('leader changes', leaderChanges, leaderChanges > 0);
  row('calls refused by server', refused, refused === 0);
  for (const [name, r] of replicas) if (r.failed) console.log(pc.red(`  ${name} last error: ${r.lastError}`));
  await rm(directory, { recursive: true, force: true });
  if (failed > 0 || rotations === 0 || stats.reloads === 0 || leaderChanges === 0 || ok === 0) process.exitCode = 1;
  console.log(
    pc.dim(`\n${AGENT_NAME}'s client certificate was rotated by CSR; its private key never left the replicas.`),
  );
}

function sleepUntil(offsetMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, started + offsetMs - Date.now())));
}

main().catch((err) => {
  console.error(pc.red(`local-dev failed: ${err?.code ?? ''} ${err?.message ?? err}`));
  process.exitCode = 1;
});
