/**
 * The relay's intermediate rotated while its CA keys are on a PKCS#11 token (SoftHSM2): `CaRotation` with
 * `pkcs11CaKeySource(token)` makes B's key on the token, and after activate the real `RelayServer`, given
 * `pkcs11SigningKeys(token)`, signs the next agent's CSR with B over real gRPC with mutual TLS.
 *
 * Time: a `ManualClock` placed so that every certificate is also valid on the real clock, which Node's TLS
 * checks handshakes against.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  bootstrapRelayPki,
  CaRotation,
  inspectCertificate,
  ManualClock,
  MemorySecretStore,
  readTlsMaterial,
  splitPemBundle,
} from '@certloop/core';
import { Pkcs11Token, pkcs11CaKeySource, pkcs11RelayCaKeys, pkcs11SigningKeys } from '@certloop/pkcs11';
import { createSoftHsmToken } from '@certloop/pkcs11/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayAgent } from './agent/relay-agent.js';
import { RelayServer } from './server/relay-server.js';
import { TEST_TOKEN, until } from './testing/index.js';

const MINUTE = 60_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const run = promisify(execFile);

describe('the relay rotating its intermediate with the keys on SoftHSM2', () => {
  it('after activate, the RelayServer signs an agent CSR with the new key made on the token', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const hsm = await createSoftHsmToken();
    const token = await Pkcs11Token.open({ uri: hsm.uri() });
    cleanups.push(() => token.close());
    const store = new MemorySecretStore();
    const pki = await bootstrapRelayPki({ store, token: TEST_TOKEN, clock, caKeys: pkcs11RelayCaKeys({ token }) });

    const events: { type: string; serialNumber?: string }[] = [];
    const server = new RelayServer({
      store,
      signingKey: pkcs11SigningKeys(token),
      address: '127.0.0.1:0',
      monitorExpiry: false,
      clock,
    });
    server.subscribe((e) => events.push(e as { type: string; serialNumber?: string }));
    const address = await server.start();
    cleanups.push(() => server.stop({ graceMs: 200 }));

    const rotation = new CaRotation({
      ca: 'intermediate',
      store,
      clock,
      keys: pkcs11CaKeySource(token),
      maxLeafLifetimeSeconds: 0,
    });
    const prepared = await rotation.prepare();
    const active = await rotation.activate();
    expect(active.phase).toBe('drain');
    const newKey = await token.key({ label: `relay-ca-rotation-${prepared.id}-int` });
    const signing = (await store.get(pki.names.signing))!;
    expect(Object.keys(signing.data).sort()).toEqual(['ca.crt', 'tls.crt']);
    await until(() =>
      events.some((e) => e.type === 'signing-authority' && e.serialNumber === active.new!.serialNumber),
    );

    const agent = new RelayAgent({
      store,
      cluster: 'cluster-1',
      names: { client: 'relay-client-tls-secret-1' },
      serverAddress: address,
      serverName: 'localhost',
      trustBundlePem: pki.trustBundlePem,
      ratio: 0.5,
      lifetimeSeconds: 3600, // valid on the real clock too, which TLS checks against
      clock,
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    await until(() => agent.status().connection.state === 'connected');
    const tlsCrt = readTlsMaterial((await store.get('relay-client-tls-secret-1'))!).certificatePem!;
    const [leaf, ...chain] = splitPemBundle(tlsCrt);
    // signed by B, whose key is on the token
    expect(inspectCertificate(leaf!).authorityKeyId).toBe(active.new!.keyId);
    expect(await token.keyAttributes({ label: newKey.label })).toMatchObject({ sensitive: true, extractable: false });

    const work = await mkdtemp(join(tmpdir(), 'relay-hsm-rotation-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    await writeFile(join(work, 'root.pem'), pki.trustBundlePem);
    await writeFile(join(work, 'chain.pem'), chain.join(''));
    await writeFile(join(work, 'leaf.pem'), leaf!);
    const { stdout } = await run(
      'openssl',
      ['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'],
      { cwd: work },
    );
    expect(stdout).toContain('leaf.pem: OK');
  });
});
