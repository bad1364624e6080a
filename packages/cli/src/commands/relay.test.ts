/**
 * `certloop server` and `certloop agent`, spawned for real on a file store: the agent bootstraps with the token,
 * connects over mutual TLS and renews at the grace ratio given in a YAML config file; both log JSON lines off a
 * terminal; SIGTERM stops both with status 0, the agent's lease released. Bad settings are usage errors.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines } from '../testing/lines.js';
import { errorCode, runCertloop, startCertloop, startLogged } from '../testing/spawn.js';
import { initialised, type Scratch, writeAgentConfig } from '../testing/workspace.js';

let s: Scratch;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await s?.remove();
});

const start = (args: string[]) => startLogged(children, args, { cwd: s.dir });

describe('certloop server and agent', { timeout: 120_000 }, () => {
  it('bootstraps, connects and renews at the configured ratio; SIGTERM stops both cleanly', async () => {
    s = await initialised();
    const server = start([
      'server',
      '--dir',
      s.store,
      '--address',
      '127.0.0.1:0',
      '--backdate',
      '1s',
      '--heartbeat-interval',
      '1s',
    ]);
    const listening = await server.waitFor((l) => l.msg === 'relay server listening');
    expect(listening.level).toBe('info');
    await writeAgentConfig(s, String(listening.address));
    const agent = start(['agent', '--config', 'agent.yaml']);
    const started = await agent.waitFor((l) => l.msg === 'relay agent started');
    expect(started).toMatchObject({ cluster: 'cluster-1', mode: 'managed', ratio: 0.5 });
    await agent.waitFor((l) => l.msg === 'rotation succeeded' && l.path === 'bootstrap');
    await agent.waitFor((l) => l.msg === 'connected');
    // 8 s certificates at ratio 0.5: renewed by CSR over mutual TLS about 4 s later
    await agent.waitFor((l) => l.msg === 'rotation succeeded' && l.path === 'renew', 20_000);
    await server.waitFor((l) => l.msg === 'issued' && l.method === 'Renew');

    children[1]!.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.lines.at(-1)?.msg).toBe('relay agent stopped');
    expect(agent.lines.some((l) => l.msg === 'lost leadership' && l.reason === 'stopped')).toBe(true);
    const lease = JSON.parse(await readFile(join(s.dir, 'leases', 'certloop-agent-cluster-1', 'lease.json'), 'utf8'));
    expect(lease.holderIdentity).toBe('');

    children[0]!.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.lines.at(-1)).toMatchObject({ msg: 'relay server stopped', bootstraps: 1 });
    expect(server.stderr()).toBe('');
  });

  it('takes settings from CERTLOOP_* variables, with flags over the environment over the config file', async () => {
    s = await initialised();
    await writeFile(
      join(s.dir, 'agent.json'),
      JSON.stringify({ cluster: 'from-file', clientTlsSecretRotationGracePeriodRatio: 2 }),
    );
    // the ratio in the file is out of range, but the environment's wins; the cluster comes from the flag
    const child = startCertloop(['agent', '--config', 'agent.json', '--dir', s.store, '--cluster', 'from-flag'], {
      cwd: s.dir,
      env: {
        CERTLOOP_SERVER_ADDRESS: '127.0.0.1:9',
        CERTLOOP_CLIENT_TLS_SECRET_ROTATION_GRACE_PERIOD_RATIO: '0.25',
      },
    });
    child.stdin!.end();
    children.push(child);
    const agent = readLines(child);
    expect(await agent.waitFor((l) => l.msg === 'relay agent started')).toMatchObject({
      cluster: 'from-flag',
      ratio: 0.25,
      server: '127.0.0.1:9',
    });
    child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });

  it('refuses bad settings with exit status 2 before starting', async () => {
    s = await initialised();
    await writeFile(join(s.dir, 'bad.yaml'), 'clusterName: x\n');
    const unknown = await runCertloop(['agent', '--config', 'bad.yaml', '--dir', s.store], { cwd: s.dir });
    expect(unknown.code).toBe(2);
    expect(errorCode(unknown.stderr)).toBe('CERTLOOP_INVALID_CONFIG');
    const ratio = await runCertloop(
      [
        'agent',
        '--dir',
        s.store,
        '--cluster',
        'c',
        '--server-address',
        '127.0.0.1:9',
        '--client-tls-secret-rotation-grace-period-ratio',
        '1.5',
      ],
      { cwd: s.dir },
    );
    expect(errorCode(ratio.stderr)).toBe('CERTLOOP_USAGE');
    expect(ratio.code).toBe(2);
    const noCluster = await runCertloop(['agent', '--dir', s.store], { cwd: s.dir });
    expect(noCluster.code).toBe(2);
    const noStore = await runCertloop(['server', '--dir', join(s.dir, 'nowhere'), '--address', '127.0.0.1:0'], {
      cwd: s.dir,
    });
    expect(noStore.code).toBe(4);
  });
});
