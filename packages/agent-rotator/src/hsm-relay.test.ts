/**
 * The relay with its CA keys on a PKCS#11 token (SoftHSM2, through `@certloop/pkcs11`): `bootstrapRelayPki`
 * makes the root and the signing intermediate's keys on the token (the store keeps only their certificates), the
 * RelayServer signs agents' CSRs with the intermediate key on the token, and agents bootstrap and renew over real
 * gRPC with mutual TLS. Every certificate and the CRL signed on the token pass `openssl verify`; the CA keys never
 * appear in the store's files or in any event, and the PIN appears nowhere either.
 *
 * Time: a `ManualClock` placed so that every certificate is also valid on the real clock, which Node's TLS
 * checks handshakes against.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  authorityFromSecret,
  bootstrapRelayPki,
  createCsr,
  FileSecretStore,
  issuedTlsSecret,
  ManualClock,
  readTlsMaterial,
  splitPemBundle,
} from '@certloop/core';
import { Pkcs11Token, pkcs11RelayCaKeys, pkcs11SigningKeys } from '@certloop/pkcs11';
import { createSoftHsmToken } from '@certloop/pkcs11/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { agentPair, renewedAtHalfLife, startConnected } from './agent/agent-pair.test-support.js';
import { RelayAgent } from './agent/relay-agent.js';
import { RelayServer } from './server/relay-server.js';
import { TEST_TOKEN, until } from './testing/index.js';

const MINUTE = 60_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const run = promisify(execFile);

async function opensslVerify(dir: string, files: Record<string, string>, args: string[]): Promise<string> {
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const { stdout } = await run('openssl', ['verify', ...args], { cwd: dir });
  return stdout;
}

/** Every file under `dir`, with its content. */
async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, text: await readFile(path, 'latin1') });
  }
  return out;
}

/** The public keys (SPKI PEM) of every private key PEM in `text`. */
function privateKeysIn(text: string): string[] {
  const blocks = text.match(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g) ?? [];
  return blocks.map((pem) => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }) as string);
}

describe('the relay with its CA keys on SoftHSM2', () => {
  it('bootstraps root and intermediate keys on the token; agents bootstrap and renew; no CA key or PIN leaks', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const hsm = await createSoftHsmToken();
    const token = await Pkcs11Token.open({ uri: hsm.uri() });
    cleanups.push(() => token.close());
    const directory = await mkdtemp(join(tmpdir(), 'relay-hsm-store-'));
    const store = new FileSecretStore({ directory });
    cleanups.push(async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    });

    const pki = await bootstrapRelayPki({
      store,
      token: TEST_TOKEN,
      clock,
      caKeys: pkcs11RelayCaKeys({ token }),
    });
    expect(pki.created).toEqual(expect.arrayContaining([pki.names.root, pki.names.signing, pki.names.server]));
    for (const name of [pki.names.root, pki.names.signing]) {
      const secret = (await store.get(name))!;
      expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt']);
    }
    const signingKey = await token.key({ label: 'relay-signing' });
    const rootKey = await token.key({ label: 'relay-root' });
    const signingPem = readTlsMaterial((await store.get(pki.names.signing))!).certificatePem!;
    const rootPem = pki.trustBundlePem;
    // the certificates in the store certify the keys on the token
    expect(
      new X509Certificate(splitPemBundle(signingPem)[0]!).publicKey.export({ type: 'spki', format: 'der' }),
    ).toEqual(Buffer.from(signingKey.spkiDer));
    expect(new X509Certificate(rootPem).publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      Buffer.from(rootKey.spkiDer),
    );
    // running it again changes nothing and makes no new key
    const again = await bootstrapRelayPki({ store, token: TEST_TOKEN, clock, caKeys: pkcs11RelayCaKeys({ token }) });
    expect(again.created).toEqual([]);

    const events: unknown[] = [];
    // the server finds the signing key on the token by the certificate in force (so a rotated CA's new key works)
    const server = new RelayServer({
      store,
      signingKey: pkcs11SigningKeys(token),
      address: '127.0.0.1:0',
      monitorExpiry: false,
      clock,
    });
    server.subscribe((e) => events.push(e));
    const address = await server.start();
    cleanups.push(() => server.stop({ graceMs: 200 }));

    const agents = agentPair({ store, serverAddress: address, trustBundlePem: pki.trustBundlePem, clock });
    for (const agent of agents) {
      agent.subscribe((e) => events.push(e));
      cleanups.push(() => agent.stop());
    }
    const first = await startConnected(agents);
    expect(server.metrics()).toMatchObject({ bootstraps: 2, renewals: 0, refused: {}, connectedAgents: 2 });

    // half the lifetime later each agent renews by CSR, signed on the token
    // (the one mutual-TLS connection stays open on the certificate it was opened with: the renewal is in the store)
    await renewedAtHalfLife(clock, agents, first);
    await until(() => server.metrics().connectedAgents === 2);
    expect(server.metrics()).toMatchObject({ bootstraps: 2, renewals: 2, issued: 4, refused: {}, connectedAgents: 2 });

    const work = await mkdtemp(join(tmpdir(), 'relay-hsm-openssl-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const leaves: string[] = [];
    let chainPem = '';
    for (const [i] of agents.entries()) {
      const secret = (await store.get(`relay-client-tls-secret-${i + 1}`))!;
      const [leaf, ...chain] = splitPemBundle(readTlsMaterial(secret).certificatePem!);
      leaves.push(leaf!);
      chainPem = chain.join('');
      const out = await opensslVerify(work, { 'root.pem': rootPem, 'chain.pem': chainPem, [`leaf-${i}.pem`]: leaf! }, [
        '-purpose',
        'sslclient',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'chain.pem',
        `leaf-${i}.pem`,
      ]);
      expect(out).toContain(`leaf-${i}.pem: OK`);
    }
    const serverSecret = (await store.get(pki.names.server))!;
    const [serverLeaf, ...serverChain] = splitPemBundle(readTlsMaterial(serverSecret).certificatePem!);
    expect(
      await opensslVerify(work, { 'server-chain.pem': serverChain.join(''), 'server.pem': serverLeaf! }, [
        '-purpose',
        'sslserver',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'server-chain.pem',
        'server.pem',
      ]),
    ).toContain('server.pem: OK');

    // a CRL signed on the token: the first agent's certificate revoked, openssl checks both leaves against it
    const revokedSerial = new X509Certificate(leaves[0]!).serialNumber.toLowerCase();
    const revoked = await pki.signingCa.revoke({ serialNumber: revokedSerial });
    const crlArgs = (leaf: string) => [
      '-crl_check',
      '-CRLfile',
      'crl.pem',
      '-CAfile',
      'root.pem',
      '-untrusted',
      'chain.pem',
      leaf,
    ];
    expect(await opensslVerify(work, { 'crl.pem': revoked.crlPem }, crlArgs('leaf-1.pem'))).toContain('leaf-1.pem: OK');
    const refused = await opensslVerify(work, {}, crlArgs('leaf-0.pem')).then(
      () => 'accepted',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout}${err.stderr}`,
    );
    expect(refused).toContain('certificate revoked');

    // a new intermediate whose key is made on the token replaces the signing secret (what a CA rotation installs):
    // the server finds that key by the new certificate and the next agent's certificate is signed with it
    const newKey = await token.generateKey({ label: 'relay-signing-2', algorithm: 'ECDSA-P384' });
    const rootCa = authorityFromSecret((await store.get(pki.names.root))!, { clock, privateKey: rootKey });
    const { csrPem } = await createCsr({ privateKeyPem: newKey, subject: { commonName: 'relay signing CA 2' } });
    const second = await rootCa.sign({ csrPem, lifetimeSeconds: 86_400, profile: 'intermediate', pathLength: 0 });
    const current = (await store.get(pki.names.signing))!;
    await store.put(pki.names.signing, issuedTlsSecret({ role: 'intermediate', result: second }), {
      expectedVersion: current.version,
    });
    await until(() =>
      events.some((e) => (e as { type: string; serialNumber?: string }).serialNumber === second.serialNumber),
    );
    const third = new RelayAgent({
      store,
      cluster: 'cluster-3',
      names: { client: 'relay-client-tls-secret-3' },
      serverAddress: address,
      serverName: 'localhost',
      trustBundlePem: pki.trustBundlePem,
      ratio: 0.5,
      lifetimeSeconds: 3600, // valid on the real clock too, which TLS checks against
      clock,
    });
    cleanups.push(() => third.stop());
    await third.start();
    await until(() => third.status().connection.state === 'connected');
    const [thirdLeaf, ...thirdChain] = splitPemBundle(
      readTlsMaterial((await store.get('relay-client-tls-secret-3'))!).certificatePem!,
    );
    expect(new X509Certificate(thirdLeaf!).issuer).toContain('relay signing CA 2');
    expect(
      await opensslVerify(work, { 'chain-2.pem': thirdChain.join(''), 'leaf-2.pem': thirdLeaf! }, [
        '-CAfile',
        'root.pem',
        '-untrusted',
        'chain-2.pem',
        'leaf-2.pem',
      ]),
    ).toContain('leaf-2.pem: OK');

    // no CA key anywhere: not in the store's files, not in an event; the PIN in neither
    const caKeys = [rootKey, signingKey, newKey].map((k) =>
      createPublicKey({ key: Buffer.from(k.spkiDer), format: 'der', type: 'spki' }).export({
        type: 'spki',
        format: 'pem',
      }),
    );
    const files = await filesUnder(directory);
    let scanned = 0; // the agents' and the server's own keys are in the store: the scan must see them
    expect(files.length).toBeGreaterThan(0);
    const eventsText = JSON.stringify(events, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
    );
    for (const { path, text } of [...files, { path: 'events', text: eventsText }]) {
      for (const publicHalf of privateKeysIn(text)) {
        scanned++;
        expect(caKeys, path).not.toContain(publicHalf);
      }
      expect(text.includes(hsm.pin), path).toBe(false);
    }
    expect(scanned).toBeGreaterThanOrEqual(3);
    // the token keeps both keys sensitive and never extractable
    for (const label of ['relay-root', 'relay-signing', 'relay-signing-2']) {
      expect(await token.keyAttributes({ label })).toMatchObject({
        sensitive: true,
        extractable: false,
        neverExtractable: true,
      });
    }
  });
});
