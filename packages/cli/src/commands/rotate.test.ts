import { FileSecretStore, inspectCertificate, DEFAULT_RELAY_SECRET_NAMES as N, readTlsMaterial } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

async function read(dir: string, name: string) {
  const store = new FileSecretStore({ directory: dir });
  try {
    return await store.get(name);
  } finally {
    await store.close();
  }
}

describe('certloop rotate', { timeout: 120_000 }, () => {
  it('re-issues the server certificate for the same identity with a new key, and the intermediate under the root', async () => {
    s = await initialised();
    const before = await read(s.store, N.server);
    const old = inspectCertificate(readTlsMaterial(before!).certificatePem!);
    const r = await runCertloop(['rotate', N.server, '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(r.code).toBe(0);
    const after = await read(s.store, N.server);
    const m = readTlsMaterial(after!);
    const now = inspectCertificate(m.certificatePem!);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: N.server,
      role: 'server',
      previousSerialNumber: old.serialNumber,
      serialNumber: now.serialNumber,
    });
    expect(now.serialNumber).not.toBe(old.serialNumber);
    expect(now.subjectText).toBe(old.subjectText);
    expect(now.sans).toEqual(old.sans);
    expect(now.extKeyUsage).toEqual(old.extKeyUsage);
    expect(m.privateKeyPem).not.toBe(readTlsMaterial(before!).privateKeyPem);
    expect(after!.annotations['certloop.io/serial']).toBe(now.serialNumber);

    const inter = await runCertloop(['rotate', N.signing, '--dir', s.store], { cwd: s.dir });
    expect(inter.code).toBe(0);
    const signing = inspectCertificate(readTlsMaterial((await read(s.store, N.signing))!).certificatePem!);
    expect(signing).toMatchObject({ isCA: true, pathLength: 0, issuerText: 'CN=certloop relay root CA' });

    const token = await runCertloop(['rotate', N.token, '--dir', s.store], { cwd: s.dir });
    expect(token.code).toBe(0);
    expect(token.stdout).not.toMatch(/[A-Za-z0-9_-]{43}/);
  });

  it('refuses a bring-your-own secret and the root, with the reason, writing nothing', async () => {
    s = await initialised();
    const store = new FileSecretStore({ directory: s.store });
    const pki = await createTestPki();
    const byo = await pki.issue({ commonName: 'agent', profile: 'client', role: false });
    const written = await store.put(N.client, {
      ...byo.secret,
      annotations: { 'cert-manager.io/certificate-name': 'agent' },
    });
    await store.close();
    const refused = await runCertloop(['rotate', N.client, '--dir', s.store], { cwd: s.dir });
    expect(refused.code).toBe(5);
    expect(errorCode(refused.stderr)).toBe('CERTLOOP_READ_ONLY');
    expect(refused.stderr).toContain('cert-manager.io/certificate-name');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect((await read(s.store, N.client))!.version).toBe(written.version);

    const rootBefore = (await read(s.store, N.root))!.version;
    const root = await runCertloop(['rotate', N.root, '--dir', s.store], { cwd: s.dir });
    expect(root.code).toBe(5);
    expect(errorCode(root.stderr)).toBe('CERTLOOP_READ_ONLY');
    expect((await read(s.store, N.root))!.version).toBe(rootBefore);

    const missing = await runCertloop(['rotate', 'no-such-secret', '--dir', s.store], { cwd: s.dir });
    expect(missing.code).toBe(5);
    expect(errorCode(missing.stderr)).toBe('CERTLOOP_NOT_FOUND');
  });
});
