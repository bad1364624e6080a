/**
 * The certloop command with CA keys on a PKCS#11 token (SoftHSM2): `init --key-store pkcs11` makes the root and
 * intermediate keys on the token and stores only their certificates; `sign --ca pkcs11` signs with the key on the
 * token; bad PKCS#11 settings are typed errors with their exit status, and the PIN never reaches the output.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileSecretStore, DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createSoftHsmToken, type SoftHsmToken } from '@certloop/pkcs11/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

const run = promisify(execFile);
let s: Scratch;
let hsm: SoftHsmToken;
beforeAll(async () => {
  hsm = await createSoftHsmToken();
});
afterEach(() => s?.remove());

describe('certloop with CA keys on SoftHSM2', { timeout: 120_000 }, () => {
  it('init --key-store pkcs11 keeps the CA keys on the token; sign --ca pkcs11 signs with them', async () => {
    s = await scratch();
    const uri = hsm.uri({ object: 'relay-signing' });
    const init = await runCertloop(
      ['init', '--dir', s.store, '--key-store', 'pkcs11', '--pkcs11-uri', uri, '-o', 'json'],
      {
        cwd: s.dir,
        env: hsm.env,
      },
    );
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout).keyStore).toBe(`pkcs11:token=${hsm.label}`);
    // the store holds the CA certificates only; the keys are on the token, sensitive and never extractable
    expect((await readdir(join(s.store, N.root))).filter((f) => !f.startsWith('..')).sort()).toEqual([
      'ca.crt',
      'tls.crt',
    ]);
    expect((await readdir(join(s.store, N.signing))).filter((f) => !f.startsWith('..')).sort()).toEqual([
      'ca.crt',
      'tls.crt',
    ]);
    const objects = await hsm.pkcs11Tool(['--list-objects', '--type', 'privkey']);
    expect(objects).toContain('label:      relay-root');
    expect(objects).toContain('label:      relay-signing');
    expect(objects.match(/Access:\s+sensitive, always sensitive, never extractable/g)).toHaveLength(2);

    await runCertloop(['csr', '--cn', 'agent-1', '--key-out', 'a.key', '--csr-out', 'a.csr'], { cwd: s.dir });
    const signed = await runCertloop(
      [
        'sign',
        'a.csr',
        '--dir',
        s.store,
        '--profile',
        'client',
        '--ca',
        'pkcs11',
        '--cert-out',
        'a.crt',
        '--ca-out',
        'ca.crt',
      ],
      { cwd: s.dir, env: { ...hsm.env, CERTLOOP_PKCS11_URI: uri } },
    );
    expect(signed.code).toBe(0);
    const { stdout } = await run(
      'openssl',
      ['verify', '-purpose', 'sslclient', '-CAfile', 'ca.crt', '-untrusted', 'a.crt', 'a.crt'],
      {
        cwd: s.dir,
      },
    );
    expect(stdout).toContain('a.crt: OK');

    // the store kept no private key of the CA, and the PIN is in no file of it
    const store = new FileSecretStore({ directory: s.store });
    for (const name of [N.root, N.signing]) expect(Object.keys((await store.get(name))!.data)).not.toContain('tls.key');
    for (const name of await readdir(s.store, { recursive: true })) {
      const text = await readFile(join(s.store, name), 'utf8').catch(() => '');
      expect(text.includes(hsm.pin), name).toBe(false);
    }
  });

  it('refuses bad PKCS#11 settings with typed errors, never printing the PIN', async () => {
    s = await scratch();
    const badUri = await runCertloop(
      ['init', '--dir', s.store, '--key-store', 'pkcs11', '--pkcs11-uri', 'pkcs11:tokn=x'],
      {
        cwd: s.dir,
      },
    );
    expect([badUri.code, errorCode(badUri.stderr)]).toEqual([2, 'CERTLOOP_PKCS11_URI_INVALID']);
    const wrong = hsm.uri({ pin: 'value' }).replace(hsm.pin, 'not-the-pin-42');
    const wrongPin = await runCertloop(['init', '--dir', s.store, '--key-store', 'pkcs11', '--pkcs11-uri', wrong], {
      cwd: s.dir,
      env: hsm.env,
    });
    expect([wrongPin.code, errorCode(wrongPin.stderr)]).toEqual([4, 'CERTLOOP_PKCS11_PIN_INCORRECT']);
    expect(`${wrongPin.stdout}${wrongPin.stderr}`).not.toContain('not-the-pin-42');
    const noModule = await runCertloop(
      [
        'init',
        '--dir',
        s.store,
        '--key-store',
        'pkcs11',
        '--pkcs11-uri',
        'pkcs11:token=x?module-path=/nonexistent.so&pin-value=1',
      ],
      { cwd: s.dir },
    );
    expect([noModule.code, errorCode(noModule.stderr)]).toEqual([4, 'CERTLOOP_PKCS11_MODULE_NOT_FOUND']);
  });

  it('ca prepare..retire --key-store pkcs11 makes the new intermediate key on the token and destroys the old one', async () => {
    s = await scratch();
    const own = await createSoftHsmToken(); // a token of its own: the rotation destroys relay-signing
    const uri = own.uri();
    const init = await runCertloop(['init', '--dir', s.store, '--key-store', 'pkcs11', '--pkcs11-uri', uri], {
      cwd: s.dir,
    });
    expect(init.code).toBe(0);
    const flags = ['--ca', 'intermediate', '--dir', s.store];
    // without the key store, the rotation would put the new key in the store: refused, nothing written
    const refused = await runCertloop(['ca', 'prepare', ...flags], { cwd: s.dir });
    expect([refused.code, errorCode(refused.stderr)]).toEqual([5, 'CERTLOOP_CA_ROTATION_REFUSED']);
    const token = ['--key-store', 'pkcs11', '--pkcs11-uri', uri];
    const prepared = await runCertloop(['ca', 'prepare', ...flags, ...token, '-o', 'json'], { cwd: s.dir });
    expect(prepared.code, prepared.stderr).toBe(0);
    const id = JSON.parse(prepared.stdout).record.id as string;
    for (const step of ['activate', 'drain', 'retire']) {
      const done = await runCertloop(['ca', step, ...flags, ...token], { cwd: s.dir });
      expect(done.code, `${step}: ${done.stderr}`).toBe(0);
    }
    const store = new FileSecretStore({ directory: s.store });
    for (const name of [N.root, N.signing]) {
      expect(Object.keys((await store.get(name))!.data).sort(), name).toEqual(['ca.crt', 'tls.crt']);
    }
    const objects = await own.pkcs11Tool(['--list-objects', '--type', 'privkey']);
    expect(objects).toContain(`label:      relay-ca-rotation-${id}-int`);
    expect(objects).not.toMatch(/label:\s+relay-signing\s*$/m);
    expect(objects).toMatch(/label:\s+relay-root\s*$/m);
  });
});
