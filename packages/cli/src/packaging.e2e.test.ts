/**
 * Packaging as users install it: `npm pack` of @certloop/core and certloop (built first, with the manifest their
 * prepack writes), installed into an empty project, then used by `import`, by `require` from CommonJS (Node >= 20.19
 * loads the ESM build), and through the installed `certloop` binary; and installed globally the way the READMEs say
 * (`npm install -g ./certloop-*.tgz`, into a scratch prefix). (`npm run lint:packages` packs through the real
 * prepack/postpack hooks.) In `npm run test:e2e`: it builds every package.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishManifest } from '../../../scripts/publish-manifest.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'certloop-pack-'));
  const npm = (args: string[], cwd: string) => run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  // certloop depends on every package (the relay, Vault, Kubernetes): all are packed, none comes from a registry
  const dirs = [
    'packages/core',
    'packages/vault-signer',
    'packages/k8s-store',
    'packages/agent-rotator',
    'packages/cli',
  ];
  // .ci/run builds every package just before (and says so): no second build there
  if (process.env.CERTLOOP_PACKAGES_BUILT !== '1') for (const dir of dirs) await npm(['run', 'build', '-w', dir], ROOT);
  const tarballs: string[] = [];
  for (const dir of dirs) {
    // pack a staged copy with the manifest the prepack hook writes, so the workspace's package.json (which other
    // tests resolve through, by its source condition) is never rewritten while tests run
    const stage = join(project, 'stage', dir);
    const manifest = JSON.parse(await readFile(join(ROOT, dir, 'package.json'), 'utf8'));
    const published = publishManifest(manifest);
    // what the published `files` name (dist, proto, README.md), as npm would take it
    for (const entry of published.files as string[]) {
      if (entry.startsWith('!')) continue;
      await cp(join(ROOT, dir, entry), join(stage, entry), { recursive: true }).catch(() => undefined);
    }
    await writeFile(join(stage, 'package.json'), JSON.stringify(published, null, 2));
    const { stdout } = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', project], stage);
    tarballs.push(join(project, JSON.parse(stdout)[0].filename));
  }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
  await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], project);
}, 600_000);

afterAll(() => (project ? rm(project, { recursive: true, force: true }) : undefined));

describe('the packed packages, installed into an empty project', { timeout: 120_000 }, () => {
  it('publish no src/ and no source condition', async () => {
    for (const name of ['@certloop/core', 'certloop']) {
      const dir = join(project, 'node_modules', name);
      expect(existsSync(join(dir, 'src'))).toBe(false);
      expect(await readFile(join(dir, 'package.json'), 'utf8')).not.toMatch(/"source"\s*:/);
    }
  });

  it('load by import', async () => {
    const code = `import { bootstrapRelayPki, MemorySecretStore } from '@certloop/core';
import { COMMANDS, runCli } from 'certloop';
const r = await bootstrapRelayPki({ store: new MemorySecretStore() });
console.log(JSON.stringify({ created: r.created.length, commands: COMMANDS.map((c) => c.name), runCli: typeof runCli }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      created: 4,
      commands: [
        'init',
        'status',
        'inspect',
        'csr',
        'sign',
        'issue',
        'rotate',
        'ca',
        'revoke',
        'server',
        'agent',
        'demo',
        'context',
      ],
      runCli: 'function',
    });
  });

  it('load by require from CommonJS', async () => {
    const code = `const core = require('@certloop/core'); const cli = require('certloop');
console.log(JSON.stringify({ ca: typeof core.LocalCertificateAuthority, exit: cli.EXIT.checkFailed }));`;
    const { stdout } = await run(process.execPath, ['--input-type=commonjs', '--no-warnings', '-e', code], {
      cwd: project,
    });
    expect(JSON.parse(stdout)).toEqual({ ca: 'function', exit: 1 });
  });

  it('install a working certloop binary', async () => {
    const bin = join(project, 'node_modules', '.bin', 'certloop');
    const help = await run(bin, ['--help'], { cwd: project });
    expect(help.stdout).toContain('Usage: certloop');
    await run(bin, ['init', '--dir', 'secrets'], { cwd: project });
    const status = await run(
      bin,
      ['status', '--dir', 'secrets', '--secrets', 'root,signing,server,token', '-o', 'json'],
      { cwd: project },
    );
    expect(JSON.parse(status.stdout).secrets.map((s: { state: string }) => s.state)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const failed = await run(bin, ['status', '--dir', 'secrets'], { cwd: project }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/^certloop: CERTLOOP_CHECK_FAILED: /);
  });

  it('install globally from the tarballs as the READMEs say: npm install -g ./certloop-*.tgz', async () => {
    const prefix = join(project, 'global');
    const tarballs = (await readdir(project)).filter((f) => /^certloop-.*\.tgz$/.test(f));
    expect(tarballs).toHaveLength(5);
    await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', ...tarballs],
      {
        cwd: project,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const version = await run(join(prefix, 'bin', 'certloop'), ['--version'], { cwd: project });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('installs no PKCS#11 addon: --ca pkcs11 says to install @certloop/pkcs11 (an optional peer, loaded only then)', async () => {
    expect(existsSync(join(project, 'node_modules', 'pkcs11js'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', '@certloop', 'pkcs11'))).toBe(false);
    const bin = join(project, 'node_modules', '.bin', 'certloop');
    const refused = await run(
      bin,
      ['init', '--dir', 'hsm-secrets', '--key-store', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=t'],
      {
        cwd: project,
      },
    ).catch((err: { code: number; stderr: string }) => err);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(/^certloop: CERTLOOP_USAGE: .*@certloop\/pkcs11/);
  });
});
