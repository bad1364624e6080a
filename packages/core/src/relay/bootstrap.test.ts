import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isManagedSecret, readTlsMaterial, tlsSecretData } from '../secret/tls-layout.js';
import { FileSecretStore } from '../store/file-store.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { createTestPki } from '../testing/pki.js';
import { validateChain } from '../x509/chain.js';
import { createCsr } from '../x509/csr.js';
import { inspectCertificate } from '../x509/inspect.js';
import { generateKeyPair } from '../x509/keys.js';
import { splitPemBundle } from '../x509/pem.js';
import { bootstrapRelayPki } from './bootstrap.js';
import { DEFAULT_RELAY_SECRET_NAMES as N } from './layout.js';

const ALL = [N.root, N.signing, N.server, N.token];

async function versions(store: MemorySecretStore | FileSecretStore) {
  return Object.fromEntries(await Promise.all(ALL.map(async (n) => [n, (await store.get(n))?.version])));
}

describe('bootstrapRelayPki', () => {
  it('creates root, intermediate, server certificate and token, and a second run changes nothing', async () => {
    const store = new MemorySecretStore();
    const first = await bootstrapRelayPki({ store });
    expect(first.created.sort()).toEqual([...ALL].sort());
    const before = await versions(store);
    const second = await bootstrapRelayPki({ store });
    expect(second.created).toEqual([]);
    expect(second.existing.sort()).toEqual([N.server, N.signing, N.token].sort());
    expect(await versions(store)).toEqual(before);
    for (const name of ALL) expect(isManagedSecret((await store.get(name))!)).toBe(true);

    const root = inspectCertificate(readTlsMaterial((await store.get(N.root))!).certificatePem!);
    const inter = inspectCertificate(readTlsMaterial((await store.get(N.signing))!).certificatePem!);
    expect(root).toMatchObject({ isCA: true, pathLength: 1, selfSigned: true });
    expect(inter).toMatchObject({ isCA: true, pathLength: 0, issuerText: root.subjectText });
    const token = new TextDecoder().decode((await store.get(N.token))!.data.token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('writes a server chain that Node, certloop and openssl accept for serverAuth, and a CA that signs agents', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'certloop-bootstrap-'));
    try {
      const store = new FileSecretStore({ directory });
      const { signingCa } = await bootstrapRelayPki({ store });
      const server = readTlsMaterial((await store.get(N.server))!);
      const [leaf, ...chain] = splitPemBundle(server.certificatePem!);
      const result = await validateChain({
        leafPem: leaf!,
        intermediatesPem: chain.join(''),
        trustBundlePem: server.trustBundlePem!,
        usage: 'serverAuth',
      });
      expect(result.chain).toHaveLength(3);
      expect(inspectCertificate(leaf!).sans).toMatchObject({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
      await writeFile(join(directory, 'leaf.pem'), leaf!);
      await writeFile(join(directory, 'chain.pem'), chain.join(''));
      await writeFile(join(directory, 'root.pem'), server.trustBundlePem!);
      const { stdout } = await promisify(execFile)('/usr/bin/openssl', [
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-CAfile',
        join(directory, 'root.pem'),
        '-untrusted',
        join(directory, 'chain.pem'),
        join(directory, 'leaf.pem'),
      ]);
      expect(stdout).toContain('OK');

      const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
      const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'agent-1' } });
      const issued = await signingCa.sign({
        csrPem,
        lifetimeSeconds: 3600,
        profile: 'client',
        identity: { commonName: 'agent-1' },
      });
      await validateChain({
        leafPem: issued.certificatePem,
        intermediatesPem: issued.chainPem,
        trustBundlePem: issued.trustBundlePem,
        usage: 'clientAuth',
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('uses a bring-your-own intermediate (say from cert-manager) as it is, creating no root', async () => {
    const byo = await createTestPki({ rootCommonName: 'offline root' });
    const store = new MemorySecretStore();
    const signing = await store.put(N.signing, {
      type: 'kubernetes.io/tls',
      data: tlsSecretData({
        certificatePem: byo.ca.certificatePem,
        privateKeyPem: byo.intermediateKeyPem,
        trustBundlePem: byo.trustBundlePem,
      }),
      annotations: { 'cert-manager.io/certificate-name': 'relay-signing' },
    });
    const result = await bootstrapRelayPki({ store });
    expect(result.created.sort()).toEqual([N.server, N.token].sort());
    expect(await store.get(N.root)).toBeUndefined();
    expect((await store.get(N.signing))!.version).toBe(signing.version);
    const server = readTlsMaterial((await store.get(N.server))!);
    expect(server.trustBundlePem).toBe(byo.trustBundlePem);
    const [leaf, ...chain] = splitPemBundle(server.certificatePem!);
    await validateChain({
      leafPem: leaf!,
      intermediatesPem: chain.join(''),
      trustBundlePem: byo.trustBundlePem,
      usage: 'serverAuth',
    });
  });

  it('signs the intermediate with a bring-your-own root that has its key', async () => {
    const byo = await createTestPki({ rootCommonName: 'my root' });
    const store = new MemorySecretStore();
    await store.put(N.root, {
      data: tlsSecretData({ certificatePem: byo.rootPem, privateKeyPem: byo.rootKeyPem, trustBundlePem: byo.rootPem }),
    });
    const result = await bootstrapRelayPki({ store });
    expect(result.existing).toContain(N.root);
    const inter = inspectCertificate(readTlsMaterial((await store.get(N.signing))!).certificatePem!);
    expect(inter.issuerText).toBe('CN=my root');
  });

  it('fails with a typed error when the root has no key and there is no intermediate, creating nothing more', async () => {
    const byo = await createTestPki();
    const store = new MemorySecretStore();
    await store.put(N.root, { data: { 'tls.crt': new TextEncoder().encode(byo.rootPem) } });
    await expect(bootstrapRelayPki({ store })).rejects.toMatchObject({ code: 'CERTLOOP_BOOTSTRAP_FAILED' });
    expect((await store.list()).map((s) => s.name)).toEqual([N.root]);
  });

  it('two bootstraps racing on one store end with one consistent PKI', async () => {
    const store = new MemorySecretStore();
    const [a, b] = await Promise.all([bootstrapRelayPki({ store }), bootstrapRelayPki({ store })]);
    expect(await a.signingCa.trustBundle()).toBe(await b.signingCa.trustBundle());
    const server = readTlsMaterial((await store.get(N.server))!);
    const [leaf, ...chain] = splitPemBundle(server.certificatePem!);
    await validateChain({
      leafPem: leaf!,
      intermediatesPem: chain.join(''),
      trustBundlePem: a.trustBundlePem,
      usage: 'serverAuth',
    });
  });

  it('honours configured names and refuses a short token', async () => {
    const store = new MemorySecretStore();
    const names = { root: 'my-root', signing: 'my-signing', server: 'my-server', token: 'my-token' };
    await bootstrapRelayPki({ store, names, token: 'a-long-enough-token-value' });
    expect((await store.list()).map((s) => s.name).sort()).toEqual(Object.values(names).sort());
    await expect(bootstrapRelayPki({ store: new MemorySecretStore(), token: 'short' })).rejects.toMatchObject({
      code: 'CERTLOOP_INVALID_CONFIG',
    });
  });

  it('with an external signingCa creates no root or signing secret and signs the server certificate by CSR', async () => {
    const pki = await createTestPki();
    const store = new MemorySecretStore();
    const result = await bootstrapRelayPki({ store, signingCa: pki.ca, token: false });
    expect(result.signingCa).toBe(pki.ca);
    expect(result.created).toEqual([N.server]);
    expect(await store.get(N.root)).toBeUndefined();
    expect(await store.get(N.signing)).toBeUndefined();
    const server = readTlsMaterial((await store.get(N.server))!);
    const [leaf, ...chain] = splitPemBundle(server.certificatePem!);
    expect(inspectCertificate(leaf!).sans.ipAddresses).toEqual(['127.0.0.1']);
    await validateChain({
      leafPem: leaf!,
      intermediatesPem: chain.join(''),
      trustBundlePem: result.trustBundlePem,
      usage: 'serverAuth',
    });
    expect((await bootstrapRelayPki({ store, signingCa: pki.ca, token: false })).created).toEqual([]);
  });
});
