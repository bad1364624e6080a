import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS } from './commands/index.js';
import { errorCode, runCertloop } from './testing/spawn.js';
import { initialised, type Scratch, scratch } from './testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

/** One line on stderr, `certloop: CODE: ...`, and the exit status. */
async function fails(args: string[], status: number, code: string, cwd: string) {
  const r = await runCertloop(args, { cwd });
  expect({ status: r.code, code: errorCode(r.stderr) }).toEqual({ status, code });
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  return r;
}

describe('certloop help and version', { timeout: 120_000 }, () => {
  it('lists every command, the exit statuses, and shows examples for each command', async () => {
    const top = await runCertloop(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(`  ${c.name} `);
    expect(top.stdout).toContain('Exit status:');
    const helps = await Promise.all(COMMANDS.map((c) => runCertloop([c.name, '--help'], { timeoutMs: 90_000 })));
    for (const [i, c] of COMMANDS.entries()) {
      const help = helps[i]!;
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: certloop ${c.name}`);
      expect(help.stdout).toMatch(/Examples:\n {2}certloop /);
    }
    const version = await runCertloop(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('shows help on stderr and exits 2 when no command is given', async () => {
    const r = await runCertloop([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: certloop');
  });
});

describe('certloop errors: one line, a code, what to do, a documented status', { timeout: 120_000 }, () => {
  it('bad flags and arguments exit 2 with CERTLOOP_USAGE', async () => {
    s = await scratch();
    await fails(['status', '--bogus'], 2, 'CERTLOOP_USAGE', s.dir);
    await fails(['status', '--dir', s.dir, '--output', 'xml'], 2, 'CERTLOOP_USAGE', s.dir);
    const typo = await fails(['statsu'], 2, 'CERTLOOP_USAGE', s.dir);
    expect(typo.stderr).toContain('status');
    await fails(['status'], 2, 'CERTLOOP_USAGE', s.dir); // no --dir
    await fails(['status', '--dir', s.dir, '--ratio', '2'], 2, 'CERTLOOP_USAGE', s.dir);
    await fails(['status', '--dir', s.dir, '--secrets', 'nope'], 2, 'CERTLOOP_USAGE', s.dir);
    await fails(
      ['issue', '--dir', s.dir, '--cn', 'x', '--lifetime', '3 parsecs', '--cert-out', 'c', '--key-out', 'k'],
      2,
      'CERTLOOP_USAGE',
      s.dir,
    );
    await fails(['csr', '--cn', 'x'], 2, 'CERTLOOP_USAGE', s.dir); // nowhere to put the key
    await fails(['inspect'], 2, 'CERTLOOP_USAGE', s.dir);
    expect(await readdir(s.dir)).toEqual([]);
  });

  it('unreadable or invalid input exits 3', async () => {
    s = await scratch();
    await fails(['inspect', 'nope.pem'], 3, 'CERTLOOP_FILE_UNREADABLE', s.dir);
    await mkdir(join(s.dir, 'folder'));
    await fails(['inspect', 'folder'], 3, 'CERTLOOP_FILE_UNREADABLE', s.dir);
    await writeFile(join(s.dir, 'bad.pem'), '-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n');
    await fails(['inspect', 'bad.pem'], 3, 'CERTLOOP_INVALID_PEM', s.dir);
    await writeFile(join(s.dir, 'junk.bin'), Buffer.from([0x30, 0x03, 0x01, 0x02]));
    await fails(['inspect', 'junk.bin'], 3, 'CERTLOOP_INVALID_DER', s.dir);
    await writeFile(join(s.dir, 'other.pem'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    await fails(['inspect', 'other.pem'], 3, 'CERTLOOP_INVALID_PEM', s.dir);
    await fails(['sign', 'nope.csr', '--dir', s.dir], 3, 'CERTLOOP_FILE_UNREADABLE', s.dir);
  });

  it('a store that cannot be reached exits 4, and a kubeconfig that cannot be loaded exits 2', async () => {
    s = await scratch();
    await fails(['status', '--dir', 'missing'], 4, 'CERTLOOP_UNAVAILABLE', s.dir);
    await writeFile(join(s.dir, 'a-file'), 'x');
    await fails(['status', '--dir', 'a-file'], 4, 'CERTLOOP_UNAVAILABLE', s.dir);
    await fails(['rotate', 'x', '--dir', 'missing'], 4, 'CERTLOOP_UNAVAILABLE', s.dir);
    await fails(['init', '--dir', 'a-file/secrets'], 4, 'CERTLOOP_STORE_IO', s.dir);
    await fails(
      ['status', '--store', 'kubernetes', '--kubeconfig', 'nope.yaml', '--context', 'mgmt'],
      2,
      'CERTLOOP_INVALID_CONFIG',
      s.dir,
    );
    await fails(['init', '--store', 'kubernetes', '--kubeconfig', 'nope.yaml'], 2, 'CERTLOOP_INVALID_CONFIG', s.dir);
    expect((await readdir(s.dir)).sort()).toEqual(['a-file']);
  });

  it('--ca vault without a Vault address is a usage error: exit 2, nothing written', async () => {
    s = await initialised();
    await runCertloop(['csr', '--cn', 'x', '--key-out', 'x.key', '--csr-out', 'x.csr'], { cwd: s.dir });
    await fails(
      ['sign', 'x.csr', '--dir', s.store, '--ca', 'vault', '--vault-role', 'r', '--cert-out', 'x.crt'],
      2,
      'CERTLOOP_USAGE',
      s.dir,
    );
    expect((await readdir(s.dir)).sort()).toEqual(['secrets', 'x.csr', 'x.key']);
  });

  it('an output file that exists is refused (exit 5) and no output is written; --force replaces', async () => {
    s = await scratch();
    await writeFile(join(s.dir, 'taken.key'), 'mine');
    await fails(['csr', '--cn', 'x', '--key-out', 'taken.key', '--csr-out', 'x.csr'], 5, 'CERTLOOP_FILE_EXISTS', s.dir);
    expect(await readFile(join(s.dir, 'taken.key'), 'utf8')).toBe('mine');
    expect((await readdir(s.dir)).sort()).toEqual(['taken.key']);
    const forced = await runCertloop(['csr', '--cn', 'x', '--key-out', 'taken.key', '--csr-out', 'x.csr', '--force'], {
      cwd: s.dir,
    });
    expect(forced.code).toBe(0);
    expect(await readFile(join(s.dir, 'taken.key'), 'utf8')).toContain('PRIVATE KEY');
  });

  it('--debug (or CERTLOOP_DEBUG=1) adds the stack after the one line', async () => {
    s = await scratch();
    const r = await runCertloop(['inspect', 'nope.pem', '--debug'], { cwd: s.dir });
    expect(r.code).toBe(3);
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    expect(first).toMatch(
      /^certloop: CERTLOOP_FILE_UNREADABLE: cannot read nope\.pem \(no such file\); check the path/,
    );
    expect(rest.some((l) => /^\s+at /.test(l))).toBe(true);
    expect(rest.join('\n')).toContain('caused by:');
    const env = await runCertloop(['inspect', 'nope.pem'], { cwd: s.dir, env: { CERTLOOP_DEBUG: '1' } });
    expect(env.stderr.trimEnd().split('\n').length).toBeGreaterThan(1);
  });
});
