/**
 * The relay signing through Vault: `VaultCertificateAuthority` (against the Vault emulator of
 * `@certloop/vault-signer/testing`, configured only through its setup helpers, i.e. Vault's own API) is the
 * RelayServer's injected `ca`. Agents bootstrap with the token and renew by CSR through the server, over real gRPC
 * with mutual TLS, and the certificates Vault signed pass `openssl verify` for TLS client use.
 *
 * The store is a parameter: each entry of `STORES` opens a fresh one (memory, file, and Kubernetes Secrets in
 * `gloo-mesh` through `KubernetesSecretStore` against the Kubernetes API emulator over loopback HTTP).
 *
 * Time: a `ManualClock` shared by Vault, the server and the agents, placed so that every certificate is also valid
 * on the real clock, which Node's TLS checks handshakes against.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  bootstrapRelayPki,
  FileSecretStore,
  ManualClock,
  MemorySecretStore,
  readTlsMaterial,
  type SecretStore,
  splitPemBundle,
  type Watcher,
} from '@certloop/core';
import { KubernetesSecretStore } from '@certloop/k8s-store';
import { startKubernetesApiEmulator } from '@certloop/k8s-store/testing';
import { VaultCertificateAuthority } from '@certloop/vault-signer';
import { setupAppRole, setupPki, startVaultEmulator } from '@certloop/vault-signer/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { agentPair, renewedAtHalfLife, startConnected } from './agent/agent-pair.test-support.js';
import { RelayServer } from './server/relay-server.js';
import { TEST_TOKEN } from './testing/index.js';

const MINUTE = 60_000;

/** One kind of store the relay's secrets live in, opened fresh for a test. */
export interface StoreCase {
  readonly name: string;
  open(): Promise<{ store: SecretStore & Watcher; close(): Promise<void> }>;
}

const STORES: readonly StoreCase[] = [
  {
    name: 'memory',
    open: async () => ({ store: new MemorySecretStore(), close: async () => {} }),
  },
  {
    name: 'file',
    open: async () => {
      const directory = await mkdtemp(join(tmpdir(), 'relay-vault-store-'));
      const store = new FileSecretStore({ directory });
      return {
        store,
        close: async () => {
          await store.close();
          await rm(directory, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'kubernetes',
    open: async () => {
      const emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
      const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
      return {
        store,
        close: async () => {
          await store.close();
          await emulator.close();
        },
      };
    },
  },
];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function opensslVerifiesClient(rootPem: string, chainPem: string, leafPem: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-vault-openssl-'));
  try {
    await writeFile(join(dir, 'root.pem'), rootPem);
    await writeFile(join(dir, 'chain.pem'), chainPem);
    await writeFile(join(dir, 'leaf.pem'), leafPem);
    const args = ['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'];
    const { stdout } = await promisify(execFile)('openssl', args, { cwd: dir });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.each(STORES)('the relay signing through Vault (store: $name)', (storeCase) => {
  it('agents bootstrap and renew through Vault over gRPC mTLS; the certificates pass openssl verify', async () => {
    const clock = new ManualClock(Date.now() - 50 * MINUTE);
    const { store, close } = await storeCase.open();
    cleanups.push(close);

    // what an operator's setup script does, through Vault's API: root, intermediate (key in Vault), role, AppRole
    const vault = await startVaultEmulator({ clock });
    cleanups.push(() => vault.close());
    const root = { endpoint: vault.endpoint, token: vault.rootToken };
    const pki = await setupPki({
      ...root,
      role: 'relay-agents',
      roleFields: { allow_any_name: true, key_type: 'any', max_ttl: '8760h' },
      policy: 'relay-pki', // the ACL policy the AppRole below carries
    });
    const approle = await setupAppRole({ ...root, role: 'relay-server', policies: ['relay-pki'] });
    const ca = new VaultCertificateAuthority({
      endpoint: vault.endpoint,
      auth: { method: 'approle', ...approle },
      mount: pki.mount,
      role: pki.role,
      clock,
    });
    cleanups.push(() => ca.close());

    // only the server certificate (signed by Vault) and the token are stored: the signing key stays in Vault
    const relayPki = await bootstrapRelayPki({ store, signingCa: ca, token: TEST_TOKEN, clock });
    expect(await store.get(relayPki.names.signing)).toBeUndefined();
    const server = new RelayServer({
      store,
      ca,
      clientIntermediatesPem: pki.intermediatePem,
      address: '127.0.0.1:0',
      monitorExpiry: false,
      clock,
    });
    const address = await server.start();
    cleanups.push(() => server.stop({ graceMs: 200 }));

    const agents = agentPair({ store, serverAddress: address, trustBundlePem: relayPki.trustBundlePem, clock });
    for (const agent of agents) cleanups.push(() => agent.stop());
    const first = await startConnected(agents);
    expect(server.metrics()).toMatchObject({ bootstraps: 2, renewals: 0, refused: {}, connectedAgents: 2 });

    // half the lifetime later each leader renews through Certificates.Renew, so through Vault
    await renewedAtHalfLife(clock, agents, first);
    // each agent renewed over the connection its stream rides, and keeps both
    expect(server.metrics()).toMatchObject({
      bootstraps: 2,
      renewals: 2,
      issued: 4,
      refused: {},
      connectedAgents: 2,
      clientCheck: { connections: 2, remembered: 0 }, // an injected CA's answers are checked the long way
    });

    const vaultIssued = vault.requests.filter((r) => r.path.includes('/sign/relay-agents')).length;
    expect(vaultIssued).toBeGreaterThanOrEqual(4); // the server certificate, two bootstraps, two renewals
    for (const [i, agent] of agents.entries()) {
      const status = agent.status().certificate!;
      expect(status.serialNumber).not.toBe(first[i]!.serialNumber);
      const secret = (await store.get(`relay-client-tls-secret-${i + 1}`))!;
      expect(secret.annotations['certloop.io/serial']).toBe(status.serialNumber);
      const [leaf, ...chain] = splitPemBundle(readTlsMaterial(secret).certificatePem!);
      const stdout = await opensslVerifiesClient(pki.rootPem, chain.join('') || pki.intermediatePem, leaf!);
      expect(stdout).toContain('leaf.pem: OK');
      expect(server.connections().find((c) => c.cluster === `cluster-${i + 1}`)?.serialNumber).toBe(
        first[i]!.serialNumber,
      );
    }
  });
});
