/**
 * Test support (not published): a scratch folder per test, removed afterwards, with a relay PKI made by
 * `certloop init` when asked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCertloop } from './spawn.js';

export interface Scratch {
  readonly dir: string;
  /** The file store's folder (`<dir>/secrets`). */
  readonly store: string;
  remove(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'certloop-cli-'));
  return { dir, store: join(dir, 'secrets'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A scratch folder whose store holds what `certloop init` makes. */
export async function initialised(): Promise<Scratch> {
  const s = await scratch();
  const result = await runCertloop(['init', '--dir', s.store], { cwd: s.dir });
  if (result.code !== 0) throw new Error(`certloop init failed: ${result.stderr}`);
  return s;
}

/**
 * Writes `<dir>/agent.yaml`: agent `cluster-1` on the scratch's store, connecting to `serverAddress` (server name
 * `localhost`), 8 s certificates renewed at ratio 0.5, file leader election (`leases`, identity `replica-1`),
 * heartbeat every second. Resolves the file's name, relative to `dir` (`agent.yaml`).
 */
export async function writeAgentConfig(s: Scratch, serverAddress: string): Promise<string> {
  await writeFile(
    join(s.dir, 'agent.yaml'),
    [
      `dir: ${s.store}`,
      'cluster: cluster-1',
      `serverAddress: "${serverAddress}"`,
      'serverName: localhost',
      'clientTlsSecretRotationGracePeriodRatio: 0.5',
      'lifetime: 8s',
      'leaderElection: file',
      'leaseDir: leases',
      'identity: replica-1',
      'heartbeatInterval: 1s',
    ].join('\n'),
  );
  return 'agent.yaml';
}
