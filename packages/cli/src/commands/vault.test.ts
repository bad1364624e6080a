/**
 * `--ca vault`: the binary signs through Vault's PKI engine (the Vault emulator of `@certloop/vault-signer/testing`,
 * started in the test process), with the token from VAULT_TOKEN or AppRole; bad Vault flags are usage errors and
 * an unreachable Vault is exit status 4.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileSecretStore } from '@certloop/core';
import { setupAppRole, setupPki, startVaultEmulator } from '@certloop/vault-signer/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readLines } from '../testing/lines.js';
import { errorCode, runCertloop, startCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let vault: Awaited<ReturnType<typeof startVaultEmulator>>;
let s: Scratch;
let vaultRoot: string;
const openssl = (args: string[], cwd: string) => promisify(execFile)('/usr/bin/openssl', args, { cwd });

beforeAll(async () => {
  vault = await startVaultEmulator();
  vaultRoot = (
    await setupPki({
      endpoint: vault.endpoint,
      token: vault.rootToken,
      mount: 'pki_int',
      role: 'relay',
      policy: 'relay-signer', // the ACL policy the AppRole test's token carries
    })
  ).rootPem;
});
afterAll(() => vault?.close());
afterEach(() => s?.remove());

const vaultFlags = () => [
  '--ca',
  'vault',
  '--vault-addr',
  vault.endpoint,
  '--vault-mount',
  'pki_int',
  '--vault-role',
  'relay',
];

describe('certloop --ca vault', { timeout: 120_000 }, () => {
  it('init keeps the signing CA in Vault, and issue signs a certificate openssl verifies to the Vault root', async () => {
    s = await scratch();
    const env = { VAULT_TOKEN: vault.rootToken };
    const init = await runCertloop(['init', '--dir', s.store, ...vaultFlags(), '-o', 'json'], { cwd: s.dir, env });
    expect(init.code).toBe(0);
    const secrets = JSON.parse(init.stdout).secrets as { role: string; outcome: string }[];
    expect(secrets.find((x) => x.role === 'server')?.outcome).toBe('created');
    expect(secrets.find((x) => x.role === 'signing')?.outcome).toBe('skipped');
    expect(await readdir(s.store)).not.toContain('relay-tls-signing-secret');

    const issued = await runCertloop(
      [
        'issue',
        '--dir',
        s.store,
        ...vaultFlags(),
        '--cn',
        'agent-7',
        '--dns',
        'agent-7',
        '--profile',
        'client',
        '--lifetime',
        '1d',
        '--key-out',
        'a.key',
        '--cert-out',
        'a.crt',
        '--ca-out',
        'ca.crt',
      ],
      { cwd: s.dir, env },
    );
    expect(issued.code).toBe(0);
    const verified = await openssl(['verify', '-CAfile', 'ca.crt', '-untrusted', 'a.crt', 'a.crt'], s.dir);
    expect(verified.stdout).toContain('a.crt: OK');
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(await readFile(join(s.dir, 'a.crt')));
    expect(cert.subject).toBe('CN=agent-7');
    expect(cert.issuer).toContain('certloop vault intermediate');
  });

  it('logs in with AppRole from VAULT_ROLE_ID and VAULT_SECRET_ID', async () => {
    s = await scratch();
    const { roleId, secretId } = await setupAppRole({
      endpoint: vault.endpoint,
      token: vault.rootToken,
      role: 'cli',
      policies: ['relay-signer'],
    });
    await runCertloop(['init', '--dir', s.store, '--no-token'], { cwd: s.dir });
    const issued = await runCertloop(
      [
        'issue',
        '--dir',
        s.store,
        ...vaultFlags(),
        '--vault-auth',
        'approle',
        '--cn',
        'svc',
        '--dns',
        'svc',
        '--key-out',
        'k',
        '--cert-out',
        'c',
      ],
      { cwd: s.dir, env: { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId } },
    );
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
  });

  it('refuses missing Vault settings as usage errors, before anything is written', async () => {
    s = await scratch();
    const noToken = await runCertloop(['init', '--dir', s.store, ...vaultFlags()], { cwd: s.dir });
    expect(noToken.code).toBe(2);
    expect(errorCode(noToken.stderr)).toBe('CERTLOOP_USAGE');
    const noAddr = await runCertloop(['init', '--dir', s.store, '--ca', 'vault', '--vault-role', 'relay'], {
      cwd: s.dir,
      env: { VAULT_TOKEN: 'x' },
    });
    expect(noAddr.code).toBe(2);
    const noK8sRole = await runCertloop(['init', '--dir', s.store, ...vaultFlags(), '--vault-auth', 'kubernetes'], {
      cwd: s.dir,
    });
    expect(errorCode(noK8sRole.stderr)).toBe('CERTLOOP_USAGE');
    expect(await readdir(s.dir)).toEqual([]);
  });

  it('answers a wrong role with CERTLOOP_NOT_FOUND and an unreachable Vault with exit status 4', async () => {
    s = await scratch();
    await runCertloop(['init', '--dir', s.store], { cwd: s.dir });
    const env = { VAULT_TOKEN: vault.rootToken };
    const wrongRole = await runCertloop(
      [
        'issue',
        '--dir',
        s.store,
        ...vaultFlags(),
        '--vault-role',
        'nope',
        '--cn',
        'a',
        '--dns',
        'a',
        '--key-out',
        'k',
        '--cert-out',
        'c',
      ],
      { cwd: s.dir, env },
    );
    expect(errorCode(wrongRole.stderr)).toBe('CERTLOOP_NOT_FOUND');
    expect(wrongRole.code).toBe(5);
    const down = await runCertloop(
      [
        'issue',
        '--dir',
        s.store,
        ...vaultFlags(),
        '--vault-addr',
        'http://127.0.0.1:9',
        '--cn',
        'a',
        '--dns',
        'a',
        '--key-out',
        'k',
        '--cert-out',
        'c',
      ],
      { cwd: s.dir, env },
    );
    expect(errorCode(down.stderr)).toBe('CERTLOOP_UNAVAILABLE');
    expect(down.code).toBe(4);
  });

  it('server --ca vault signs agents through Vault and checks their chains through its intermediate', async () => {
    s = await scratch();
    const env = { VAULT_TOKEN: vault.rootToken };
    expect((await runCertloop(['init', '--dir', s.store, ...vaultFlags()], { cwd: s.dir, env })).code).toBe(0);
    // the root that authenticates the server is Vault's: published where agents look for it
    const root = vaultRoot.trim();
    const files = new FileSecretStore({ directory: s.store });
    await files.put('relay-root-tls-secret', {
      type: 'Opaque',
      data: { 'ca.crt': new TextEncoder().encode(`${root}\n`) },
    });
    await files.close();
    const server = startCertloop(['server', '--dir', s.store, '--address', '127.0.0.1:0', ...vaultFlags()], {
      cwd: s.dir,
      env,
    });
    server.stdin!.end();
    try {
      const lines = readLines(server);
      const listening = await lines.waitFor((l) => l.msg === 'relay server listening');
      expect(String(listening.ca)).toMatch(/^vault http:\/\/127\.0\.0\.1:\d+ pki_int\/sign\/relay$/);
      const child = startCertloop(
        ['agent', '--dir', s.store, '--cluster', 'c1', '--server-address', String(listening.address)].concat([
          '--server-name',
          'localhost',
        ]),
        { cwd: s.dir },
      );
      child.stdin!.end();
      const agentLines = readLines(child);
      await agentLines.waitFor((l) => l.msg === 'rotation succeeded' && l.path === 'bootstrap');
      await agentLines.waitFor((l) => l.msg === 'connected');
      child.kill('SIGTERM');
      expect(await agentLines.exited).toBe(0);
      server.kill('SIGTERM');
      expect(await lines.exited).toBe(0);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });
});
