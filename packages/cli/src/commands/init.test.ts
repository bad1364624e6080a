import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FileSecretStore,
  inspectCertificate,
  DEFAULT_RELAY_SECRET_NAMES as N,
  readTlsMaterial,
  tlsSecretData,
} from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('certloop init', { timeout: 120_000 }, () => {
  it('creates root, intermediate, server certificate and token; a second run keeps them all', async () => {
    s = await scratch();
    const first = await runCertloop(
      ['init', '--dir', s.store, '-o', 'json', '--server-dns', 'relay.example,localhost'],
      { cwd: s.dir },
    );
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out.secrets.map((x: { outcome: string }) => x.outcome)).toEqual([
      'created',
      'created',
      'created',
      'created',
    ]);
    const store = new FileSecretStore({ directory: s.store });
    const server = inspectCertificate(readTlsMaterial((await store.get(N.server))!).certificatePem!);
    expect(server.sans.dnsNames).toEqual(['relay.example', 'localhost']);
    expect(server.sans.ipAddresses).toEqual(['127.0.0.1']);
    const version = (await store.get(N.server))!.version;
    // the key file of a secret is 0600, its folder 0700
    expect((await stat(join(s.store, N.server, 'tls.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(s.store)).mode & 0o777).toBe(0o700);

    const second = await runCertloop(['init', '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).secrets.map((x: { outcome: string }) => x.outcome)).toEqual([
      'kept',
      'kept',
      'kept',
      'kept',
    ]);
    expect((await store.get(N.server))!.version).toBe(version);
    await store.close();
  });

  it('stores a token given in a file, and refuses a short one before writing anything', async () => {
    s = await scratch();
    const { writeFile, readdir } = await import('node:fs/promises');
    await writeFile(join(s.dir, 'short'), 'too-short\n');
    const refused = await runCertloop(['init', '--dir', s.store, '--token-file', 'short'], { cwd: s.dir });
    expect(refused.code).toBe(2);
    expect(errorCode(refused.stderr)).toBe('CERTLOOP_USAGE');
    await expect(readdir(s.store)).rejects.toMatchObject({ code: 'ENOENT' });

    await writeFile(join(s.dir, 'token'), 'a-token-of-enough-length-1234\n');
    const ok = await runCertloop(['init', '--dir', s.store, '--token-file', 'token'], { cwd: s.dir });
    expect(ok.code).toBe(0);
    const store = new FileSecretStore({ directory: s.store });
    expect(new TextDecoder().decode((await store.get(N.token))!.data.token)).toBe('a-token-of-enough-length-1234');
    await store.close();
  });

  it('uses a bring-your-own intermediate as found: no root, the server certificate signed by it, the intermediate untouched', async () => {
    s = await scratch();
    const byo = await createTestPki({ rootCommonName: 'offline root' });
    const store = new FileSecretStore({ directory: s.store });
    const signing = await store.put(N.signing, {
      type: 'kubernetes.io/tls',
      data: tlsSecretData({
        certificatePem: byo.ca.certificatePem,
        privateKeyPem: byo.intermediateKeyPem,
        trustBundlePem: byo.trustBundlePem,
      }),
      annotations: { 'cert-manager.io/certificate-name': 'relay-signing' },
    });
    const r = await runCertloop(['init', '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(r.code).toBe(0);
    expect(
      Object.fromEntries(
        JSON.parse(r.stdout).secrets.map((x: { role: string; outcome: string }) => [x.role, x.outcome]),
      ),
    ).toEqual({
      root: 'skipped',
      signing: 'kept',
      server: 'created',
      token: 'created',
    });
    expect(await store.get(N.root)).toBeUndefined();
    expect((await store.get(N.signing))!.version).toBe(signing.version);
    const server = inspectCertificate(readTlsMaterial((await store.get(N.server))!).certificatePem!);
    expect(server.issuerText).toBe(inspectCertificate(byo.ca.certificatePem).subjectText);
    await store.close();
  });
});
