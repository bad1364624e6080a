/**
 * End to end, in real time (so in `npm run test:e2e`): the relay with its signing key on SoftHSM2, from
 * `certloop init --key-store pkcs11` to renewed agents. `certloop server --ca pkcs11` signs with the intermediate's
 * key on the token; `certloop agent` bootstraps with the token, connects over mutual TLS and renews at the ratio.
 * The renewed certificate passes `openssl verify`; the PIN is in no log line. And `certloop demo --ca pkcs11`.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileSecretStore, readTlsMaterial, splitPemBundle } from '@certloop/core';
import { createSoftHsmToken } from '@certloop/pkcs11/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runCertloop, startLogged } from '../testing/spawn.js';
import { type Scratch, scratch, writeAgentConfig } from '../testing/workspace.js';

let s: Scratch;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await s?.remove();
});

describe('certloop relay with the signing key on SoftHSM2', () => {
  it('init --key-store pkcs11, server --ca pkcs11, agent: bootstrap, connect, renew', async () => {
    s = await scratch();
    const hsm = await createSoftHsmToken();
    const uri = hsm.uri({ object: 'relay-signing' });
    const env = { ...hsm.env, CERTLOOP_PKCS11_URI: uri };
    const init = await runCertloop(['init', '--dir', s.store, '--key-store', 'pkcs11'], { cwd: s.dir, env });
    expect(init.code).toBe(0);

    const start = (args: string[]) => startLogged(children, args, { cwd: s.dir, env });
    const server = start([
      'server',
      '--dir',
      s.store,
      '--ca',
      'pkcs11',
      '--address',
      '127.0.0.1:0',
      '--backdate',
      '1s',
      '--heartbeat-interval',
      '1s',
    ]);
    const listening = await server.waitFor((l) => l.msg === 'relay server listening', 30_000);
    expect(String(listening.ca)).toContain(`pkcs11:token=${hsm.label};object=relay-signing`);
    await writeAgentConfig(s, String(listening.address));
    const agent = start(['agent', '--config', 'agent.yaml']);
    await agent.waitFor((l) => l.msg === 'rotation succeeded' && l.path === 'bootstrap', 30_000);
    await agent.waitFor((l) => l.msg === 'connected', 30_000);
    await agent.waitFor((l) => l.msg === 'rotation succeeded' && l.path === 'renew', 30_000);
    await server.waitFor((l) => l.msg === 'issued' && l.method === 'Renew');

    const store = new FileSecretStore({ directory: s.store });
    const client = readTlsMaterial((await store.get('relay-client-tls-secret'))!);
    const [leaf, ...chain] = splitPemBundle(client.certificatePem!);
    await writeFile(join(s.dir, 'leaf.pem'), leaf!);
    await writeFile(join(s.dir, 'chain.pem'), chain.join(''));
    await writeFile(join(s.dir, 'root.pem'), client.trustBundlePem!);
    const { stdout } = await promisify(execFile)(
      'openssl',
      ['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'],
      { cwd: s.dir },
    );
    expect(stdout).toContain('leaf.pem: OK');
    await store.close();

    children[1]!.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    children[0]!.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.lines.at(-1)).toMatchObject({ msg: 'relay server stopped', bootstraps: 1 });
    const logs = JSON.stringify([...server.lines, ...agent.lines]) + server.stderr();
    expect(logs.includes(hsm.pin)).toBe(false);
    expect(logs).not.toContain('PRIVATE KEY');
  });

  it('demo --ca pkcs11 runs the relay with its CA keys on a SoftHSM2 token it makes', async () => {
    s = await scratch();
    const demo = await runCertloop(['demo', '--ca', 'pkcs11', '--store', 'file', '--duration', '60s', '--no-serve'], {
      cwd: s.dir,
      timeoutMs: 150_000,
      spawn: true, // the demo starts its replicas by running its own binary again
    });
    expect(demo.stderr).toBe('');
    expect(demo.stdout).toMatch(
      /its key on SoftHSM2 \(pkcs11:token=certloop-demo;object=relay-signing;id=[%0-9A-F]+;type=private\)/,
    );
    expect(demo.stdout).toMatch(/signed a CSR for cluster-1 by Renew/);
    expect(demo.stdout).toMatch(/every promise kept/);
    expect(demo.code).toBe(0);
  });
});
